// fetch() for /api with the session cookie and CSRF; errors become ApiError with the API's error shape.

export class ApiError extends Error {
  constructor(status, detail, errors = []) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
    this.errors = errors;
  }
}

export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

export async function api(method, path, body, { raw = false } = {}) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = csrfToken();
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api${path}`, init);
  } catch (err) {
    throw new ApiError(0, "The server cannot be reached (network error).");
  }
  if (response.status === 401) {
    window.location.href = `/login/?next=${encodeURIComponent(window.location.pathname + window.location.search)}`;
    throw new ApiError(401, "Not logged in.");
  }
  if (raw) return response;
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = null;
  }
  if (!response.ok) {
    throw new ApiError(response.status, (data && data.detail) || `HTTP ${response.status}`, (data && data.errors) || []);
  }
  return data;
}

/**
 * Every item of a paginated list endpoint ({items, count, next}): page after page by its `next` cursor
 * (an index seek, however deep the page), or by offset for a list that has none.
 */
export async function apiAll(path) {
  const items = [];
  const sep = path.includes("?") ? "&" : "?";
  let cursor = null;
  for (;;) {
    const where = cursor ? `after=${encodeURIComponent(cursor)}` : `offset=${items.length}`;
    const page = await api("GET", `${path}${sep}limit=200&${where}`);
    items.push(...page.items);
    if (page.items.length === 0 || (!page.next && items.length >= page.count)) return items;
    cursor = page.next;
  }
}
