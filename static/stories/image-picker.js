// A story's lead image or a byline's photo: the thumbnail beside the library search shows the
// image chosen when the form loaded; once another is chosen it would mislead, so it goes.
"use strict";
(function () {
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".chosen-image[data-for]").forEach(function (preview) {
      var select = document.getElementById(preview.dataset.for);
      if (!select) {
        return;
      }
      var chosen = select.value;
      function follow() {
        preview.hidden = select.value !== chosen;
      }
      select.addEventListener("change", follow);
      // The admin's autocomplete (select2) tells jQuery listeners, not the DOM, of a choice.
      if (window.django && window.django.jQuery) {
        window.django.jQuery(select).on("change", follow);
      }
    });
  });
})();
