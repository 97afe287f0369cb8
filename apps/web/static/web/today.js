// Today: show each slider's number beside it while it moves. Without this script the
// slider still submits its value; the number shown is then the one the page was drawn with.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("output.slider-value").forEach(function (output) {
      var slider = document.getElementById(output.htmlFor.value);
      if (!slider) { return; }
      var show = function () { output.value = slider.value; };
      slider.addEventListener("input", show);
      show(); // a browser may restore a moved slider on "back"
    });
  });
})();
