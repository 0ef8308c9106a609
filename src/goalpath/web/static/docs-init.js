// Starts Swagger UI for /api/docs. It lives in its own file because the
// Content-Security-Policy forbids inline script.
(function () {
  "use strict";
  var container = document.getElementById("swagger-ui");
  if (!container || typeof SwaggerUIBundle !== "function") {
    return;
  }
  SwaggerUIBundle({
    url: container.dataset.openapiUrl || "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // The default validator badge fetches from validator.swagger.io, another host.
    validatorUrl: null,
    // Bearer tokens pasted into "Authorize" must not outlive the tab in localStorage.
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
