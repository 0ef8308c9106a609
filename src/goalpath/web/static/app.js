// Goalpath's own script: a file, not inline, because the CSP allows script from 'self'
// only. Pages work without it; it adds what htmx and screen-reader users need.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // The CSRF middleware refuses a state-changing request from a signed-in browser unless
  // it echoes the token; plain forms carry it in a hidden field, htmx requests in this
  // header.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) {
      event.detail.headers["X-CSRFToken"] = token;
    }
  });

  // A form that came back with errors: moving focus to the summary makes screen
  // readers read it first, and its links lead to each field (WCAG 3.3.1).
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    if (summary) {
      summary.focus();
    }
  });
})();
