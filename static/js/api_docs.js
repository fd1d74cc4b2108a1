// /api/docs: start the vendored Swagger UI with the settings the server rendered into the page.
// Requests it sends carry the CSRF token, so "Try it out" works with the browser's session too.
const settings = JSON.parse(document.getElementById("swagger-settings").textContent);
const csrfToken = document.body.dataset.csrfToken;

window.ui = SwaggerUIBundle({
  ...settings,
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  requestInterceptor: (request) => {
    if (csrfToken) request.headers["X-CSRFToken"] = csrfToken;
    return request;
  },
});
