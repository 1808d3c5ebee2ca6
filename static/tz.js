// Tell Roundtable the visitor's time zone so session times can be shown in it; pages work
// without it (times are then shown in the circle's zone, always labelled).
(function () {
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!tz) return;
    if (document.cookie.indexOf("tz=" + encodeURIComponent(tz)) === -1) {
      document.cookie = "tz=" + encodeURIComponent(tz) + "; path=/; max-age=31536000; samesite=lax";
    }
    var fields = document.querySelectorAll("input[name=timezone]");
    for (var i = 0; i < fields.length; i++) if (!fields[i].value) fields[i].value = tz;
  } catch (e) { /* old browsers: nothing to do */ }
})();
