// The admin's preview-link rows: a "Copy" button next to each address. Without JavaScript
// the button stays hidden and the read-only address can be selected and copied by hand.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button.copy-link")) {
    const address = button.previousElementSibling;
    if (!address || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      address.select();
      try {
        await navigator.clipboard.writeText(address.value);
        button.textContent = "Copied";
      } catch {
        button.textContent = "Select and copy";
      }
    });
  }
});
