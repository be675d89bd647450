// Starts Swagger UI on GET /api/docs. A file, not an inline script, so that the page's
// Content-Security-Policy can allow scripts from 'self' only. The page names the OpenAPI
// document's URL (data-openapi-url); no request leaves the server's own origin: the
// online validator badge is off, and "Try it out" calls the API with the Bearer token
// given under "Authorize" (kept in this tab's memory only).
"use strict";

window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    domNode: root,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null,
    persistAuthorization: false,
    displayRequestDuration: true,
    filter: true,
  });
});
