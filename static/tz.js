// Tell Roundtable the visitor's time zone so session times can be shown in it; pages work
// without it (times are then shown in the circle's zone, always labelled).
(function () {
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && document.cookie.indexOf("tz=" + encodeURIComponent(tz)) === -1) {
      document.cookie = "tz=" + encodeURIComponent(tz) + "; path=/; max-age=31536000; samesite=lax";
    }
    var fields = document.querySelectorAll("input[name=timezone]");
    for (var i = 0; i < fields.length; i++) if (tz && !fields[i].value) fields[i].value = tz;
    zoneSelect(document.querySelector("select[name=timezone]"), tz);
  } catch (e) { /* old browsers: the plain list still works */ }

  // The circle form's zone list: pick the browser's zone on a new circle, and let a
  // search box narrow the long list.
  function zoneSelect(select, tz) {
    if (!select) return;
    if (tz && select.hasAttribute("data-prefer-browser")) {
      for (var i = 0; i < select.options.length; i++) {
        if (select.options[i].value === tz) { select.selectedIndex = i; break; }
      }
    }
    var filter = document.getElementById("timezone-filter");
    if (!filter) return;
    filter.hidden = false;
    filter.addEventListener("input", function () {
      var words = filter.value.toLowerCase().replace(/\s+/g, "_");
      var first = null;
      for (var i = 0; i < select.options.length; i++) {
        var o = select.options[i];
        var match = o.value.toLowerCase().indexOf(words) !== -1;
        o.hidden = !match;
        if (match && first === null) first = i;
      }
      if (first !== null && select.options[select.selectedIndex].hidden) select.selectedIndex = first;
    });
  }
})();
