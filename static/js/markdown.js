// Markdown to sanitised HTML. Model output is untrusted: marked renders, DOMPurify strips
// anything executable before it reaches the DOM. Never insert model text any other way.
import { Marked } from "../vendor/marked-18.2.1/marked.esm.js";
import DOMPurify from "../vendor/dompurify-3.4.18/purify.es.mjs";

const marked = new Marked({ gfm: true, breaks: true, async: false });

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
});

const PURIFY = {
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "iframe", "object", "embed"],
  FORBID_ATTR: ["style"],
};

export function renderMarkdown(text) {
  return DOMPurify.sanitize(marked.parse(String(text ?? "")), PURIFY);
}

/** Replace el's content with the rendered Markdown of text. */
export function setMarkdown(el, text) {
  el.innerHTML = renderMarkdown(text);
}
