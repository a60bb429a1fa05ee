// The story form's writing aids (stories.editorial.writing): a live character count under
// the headline and deck, and a warning as soon as a live story's slug is edited.
"use strict";
(function () {
  // Under the field's row (label and input side by side), above its help text.
  function below(input, element) {
    (input.closest(".flex-container") || input).insertAdjacentElement("afterend", element);
  }

  function characterCount(input) {
    const limit = Number(input.getAttribute("maxlength"));
    const counter = document.createElement("div");
    counter.className = "help character-count";
    counter.id = `${input.id}_count`;
    counter.setAttribute("aria-live", "polite");
    input.setAttribute(
      "aria-describedby",
      [input.getAttribute("aria-describedby"), counter.id].filter(Boolean).join(" "),
    );
    below(input, counter);
    function update() {
      // Characters as the server counts them (code points, not UTF-16 units).
      const used = Array.from(input.value).length;
      counter.textContent = limit ? `${used} of ${limit} characters` : `${used} characters`;
      counter.classList.toggle("character-count--near", limit > 0 && used > limit * 0.9);
    }
    input.addEventListener("input", update);
    update();
  }

  function slugWarning(input) {
    const liveSlug = input.dataset.liveSlug;
    const warning = document.createElement("p");
    warning.className = "help slug-warning";
    warning.id = `${input.id}_warning`;
    warning.setAttribute("role", "status");
    warning.hidden = true;
    warning.textContent =
      "This story is live: saving a new slug moves it to a new address, and the old " +
      `address (…/${liveSlug}/) will redirect there.`;
    below(input, warning);
    function update() {
      warning.hidden = input.value === liveSlug;
    }
    input.addEventListener("input", update);
    input.addEventListener("change", update);
    update();
  }

  function start() {
    document.querySelectorAll("input[data-character-count]").forEach(characterCount);
    document.querySelectorAll("input[data-live-slug]").forEach(slugWarning);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
