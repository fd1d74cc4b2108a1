// Where a JSON path (as the API writes it: `participants[0].model.provider`) sits in a JSON text,
// so a validation error can be highlighted in the editor. Only called on text that parses.

function scan(text) {
  const spots = new Map(); // path -> {start, end}
  let i = 0;
  const n = text.length;
  const ws = () => {
    while (i < n && /\s/.test(text[i])) i += 1;
  };
  const string = () => {
    const start = i;
    i += 1;
    while (i < n && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i += 1;
    return [start, i];
  };
  const value = (path, keyStart) => {
    ws();
    const start = keyStart ?? i;
    const c = text[i];
    if (c === "{") {
      i += 1;
      ws();
      if (text[i] === "}") i += 1;
      else {
        while (i < n) {
          ws();
          const [ks, ke] = string();
          const key = JSON.parse(text.slice(ks, ke));
          ws();
          i += 1; // :
          value(path ? `${path}.${key}` : key, ks);
          ws();
          const sep = text[i];
          i += 1;
          if (sep !== ",") break;
        }
      }
    } else if (c === "[") {
      i += 1;
      ws();
      if (text[i] === "]") i += 1;
      else {
        for (let index = 0; i < n; index += 1) {
          value(`${path}[${index}]`);
          ws();
          const sep = text[i];
          i += 1;
          if (sep !== ",") break;
        }
      }
    } else if (c === '"') {
      string();
    } else {
      while (i < n && !/[\s,\]}]/.test(text[i])) i += 1;
    }
    spots.set(path, { start, end: i });
  };
  value("");
  return spots;
}

/** {start, end} of path in text, or of its closest existing ancestor (a missing field's parent). */
export function locate(text, path) {
  let spots;
  try {
    spots = scan(text);
  } catch (err) {
    return null;
  }
  let p = path || "";
  for (;;) {
    if (spots.has(p)) return spots.get(p);
    if (!p) return null;
    const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
    p = cut > 0 ? p.slice(0, cut) : "";
  }
}

/** Offset of a JSON.parse error message's position (V8: "at position N" or "line L column C"). */
export function parseErrorOffset(text, message) {
  const pos = /position (\d+)/.exec(message);
  if (pos) return Number(pos[1]);
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) {
    const lines = text.split("\n");
    let offset = 0;
    for (let l = 0; l < Number(lc[1]) - 1 && l < lines.length; l += 1) offset += lines[l].length + 1;
    return offset + Number(lc[2]) - 1;
  }
  return 0;
}
