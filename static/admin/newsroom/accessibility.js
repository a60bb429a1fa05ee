/* Accessible names for the boxes select2 builds for Django's autocomplete fields (issue 13),
   and for the icons of Django's two-list filter widget.

   select2 hides the real <select> and shows its own combobox, which it names only by the
   chosen value (nothing, when nothing is chosen), and its search boxes, which it does not
   name at all. Each is named here after the <select>'s label: its <label>, or in a table
   row its column header, or the aria-label Django rendered (stories/editorial/
   accessibility.py). select2 builds boxes on page load, for each new inline row and each
   time a dropdown opens, so a MutationObserver names whatever appears. */
(function () {
  "use strict";
  var counter = 0;

  function ensureId(element) {
    if (!element.id) { counter += 1; element.id = "a11y-name-" + counter; }
    return element.id;
  }

  // The element that names the <select>, or null: its <label>, else its column's header.
  function namingElement(select) {
    var label = select.id && document.querySelector('label[for="' + select.id + '"]');
    if (label) { return label; }
    var cell = select.closest("td");
    var table = cell && cell.closest("table");
    if (!table || !table.tHead) { return null; }
    var headers = table.tHead.rows[0].cells;
    var column = 0;
    for (var c = cell.parentElement.firstElementChild; c && c !== cell; c = c.nextElementSibling) {
      column += c.colSpan || 1;
    }
    for (var i = 0, at = 0; i < headers.length; i += 1) {
      if (at === column) { return headers[i]; }
      at += headers[i].colSpan || 1;
    }
    return null;
  }

  function nameFor(select, box, ownIds) {
    var namer = namingElement(select);
    if (namer) {
      box.setAttribute("aria-labelledby", [ensureId(namer)].concat(ownIds || []).join(" "));
    } else if (select.getAttribute("aria-label")) {
      box.setAttribute("aria-label", select.getAttribute("aria-label"));
    }
  }

  function selectFromResultsId(id) {  // select2 names its lists "select2-<select id>-results"
    var match = /^select2-(.+)-results$/.exec(id || "");
    return match && document.getElementById(match[1]);
  }

  function nameBoxes() {
    document.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      var container = select.nextElementSibling;
      if (!container || !container.classList.contains("select2")) { return; }
      var combobox = container.querySelector('.select2-selection[role="combobox"]');
      var rendered = container.querySelector(".select2-selection__rendered");
      if (combobox) {
        // ARIA 1.2 requires aria-controls on an expanded combobox; select2 sets only the
        // older aria-owns, and removes it when the list closes.
        if (combobox.getAttribute("aria-owns")) {
          combobox.setAttribute("aria-controls", combobox.getAttribute("aria-owns"));
        } else {
          combobox.removeAttribute("aria-controls");
        }
      }
      if (combobox && rendered && rendered.tagName === "SPAN") {
        // The combobox: "Section, Business"; the chosen value's box: "Section".
        nameFor(select, combobox, [ensureId(rendered)]);
        nameFor(select, rendered);
      }
      container.querySelectorAll(".select2-search__field").forEach(function (field) {
        nameFor(select, field);
      });
      // "Remove all items" is a mouse shortcut (Backspace does it from the keyboard); as a
      // bare <span> inside the chosen items' <ul> it breaks the list for screen readers.
      container.querySelectorAll("ul > .select2-selection__clear").forEach(function (clear) {
        clear.setAttribute("aria-hidden", "true");
      });
    });
    // An open dropdown's search box and results, appended to <body>.
    document.querySelectorAll(".select2-dropdown").forEach(function (dropdown) {
      var results = dropdown.querySelector(".select2-results__options");
      var select = results && selectFromResultsId(results.id);
      if (!select) { return; }
      dropdown.querySelectorAll(".select2-search__field").forEach(function (field) {
        nameFor(select, field);
      });
      nameFor(select, results);
    });
  }

  // Django's two-list "filter_horizontal" widget (SelectFilter2.js) labels its magnifier
  // icons with aria-label on a bare <span>, which has no role to carry a name: it is an image.
  function nameFilterIcons() {
    document.querySelectorAll(".search-label-icon[aria-label]:not([role])").forEach(function (icon) {
      icon.setAttribute("role", "img");
    });
  }

  function start() {
    var nameAll = function () { nameBoxes(); nameFilterIcons(); };
    nameAll();
    new MutationObserver(nameAll).observe(document.body, {childList: true, subtree: true});
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
