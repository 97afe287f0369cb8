// Reminders page enhancement: after a refused form, bring the first field in error into
// view and give it focus, so keyboard and screen-reader users land where the fix is.
// Without JavaScript the errors are still next to their fields, announced by role="alert".
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var first = document.querySelector("main [aria-invalid='true']");
    if (first) {
      first.focus();
    }
  });
})();
