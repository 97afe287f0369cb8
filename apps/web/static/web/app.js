// Progressive enhancement shared by every page. Everything works without it.
(function () {
  "use strict";
  // A time-zone field marked data-browser-timezone is pre-filled from the browser when it
  // still holds the default, so people rarely have to type an IANA name.
  document.addEventListener("DOMContentLoaded", function () {
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    document.querySelectorAll("[data-browser-timezone]").forEach(function (field) {
      if (zone && (!field.value || field.value === field.getAttribute("data-default"))) {
        field.value = zone;
      }
    });
  });
})();
