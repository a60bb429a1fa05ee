// The image library's focal-point picker: a click on the picture (or the arrow keys on it)
// sets the focal point, which two number fields hold (id_focal_x, id_focal_y: fractions of
// the width and height). Typing in those fields moves the marker. No inline script or style:
// the marker is placed through the style object, which the CSP allows.
"use strict";
(function () {
  function setUp(picker) {
    var image = picker.querySelector("img");
    var marker = picker.querySelector(".focal-marker");
    var inputX = document.getElementById("id_focal_x");
    var inputY = document.getElementById("id_focal_y");
    if (!image || !marker || !inputX || !inputY) {
      return;
    }

    function clamp(value) {
      return Math.min(1, Math.max(0, value));
    }

    function read(input) {
      var value = parseFloat(input.value);
      return isNaN(value) ? 0.5 : clamp(value);
    }

    function place() {
      marker.style.left = read(inputX) * 100 + "%";
      marker.style.top = read(inputY) * 100 + "%";
    }

    function choose(x, y) {
      inputX.value = clamp(x).toFixed(3);
      inputY.value = clamp(y).toFixed(3);
      inputX.dispatchEvent(new Event("change", { bubbles: true }));
      place();
    }

    image.addEventListener("click", function (event) {
      var box = image.getBoundingClientRect();
      choose((event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height);
    });

    var steps = {
      ArrowLeft: [-0.02, 0],
      ArrowRight: [0.02, 0],
      ArrowUp: [0, -0.02],
      ArrowDown: [0, 0.02],
    };
    picker.addEventListener("keydown", function (event) {
      var step = steps[event.key];
      if (!step) {
        return;
      }
      event.preventDefault();
      choose(read(inputX) + step[0], read(inputY) + step[1]);
    });

    inputX.addEventListener("input", place);
    inputY.addEventListener("input", place);
    picker.classList.add("focal-picker--ready");
    place();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".focal-picker").forEach(setUp);
  });
})();
