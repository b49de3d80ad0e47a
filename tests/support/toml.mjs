// Reads the string entries of one table of a TOML file: just enough TOML for the `[vars]`
// of wrangler.toml. Supported values: "basic" (with the JSON-compatible escapes),
// 'literal', '''multi-line literal''' and """multi-line basic""" strings. Comments, blank
// lines and other tables are skipped; any other value in the table is an error, so a
// change to wrangler.toml that this reader would misread fails loudly.
import { readFileSync } from "node:fs";

const KEY = /^([A-Za-z0-9_-]+)\s*=\s*/;

function basic(text) {
  // TOML basic-string escapes are a superset of nothing we need beyond JSON's.
  return JSON.parse(`"${text}"`);
}

/** Returns `{ KEY: "value", ... }` for the string entries of `[table]` in `path`. */
export function readTable(path, table) {
  const lines = readFileSync(path, "utf8").split(/\r?\n/);
  const values = {};
  let inside = false;
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    const header = /^\[([^\]]+)\]\s*(#.*)?$/.exec(line);
    if (header) {
      inside = header[1].trim() === table;
      continue;
    }
    if (!inside) continue;

    const key = KEY.exec(line);
    if (!key) throw new Error(`${path}:${i + 1}: cannot read ${JSON.stringify(line)}`);
    const rest = line.slice(key[0].length);
    let value;
    let match;
    if (rest.startsWith("'''") || rest.startsWith('"""')) {
      const quote = rest.slice(0, 3);
      // Multi-line: the newline right after the opening quotes is not part of the value.
      let body = rest.slice(3);
      const parts = [];
      let end = body.indexOf(quote);
      let j = i;
      while (end === -1) {
        parts.push(body);
        j += 1;
        if (j >= lines.length) throw new Error(`${path}:${i + 1}: unterminated ${quote} string`);
        body = lines[j];
        end = body.indexOf(quote);
      }
      parts.push(body.slice(0, end));
      if (parts.length > 1 && parts[0] === "") parts.shift();
      const after = body.slice(end + 3).trim();
      if (after !== "" && !after.startsWith("#")) {
        throw new Error(`${path}:${j + 1}: unexpected ${JSON.stringify(after)} after the string`);
      }
      value = parts.join("\n");
      if (quote === '"""') value = basic(value.replace(/\n/g, "\\n"));
      i = j;
    } else if ((match = /^"((?:[^"\\]|\\.)*)"\s*(#.*)?$/.exec(rest))) {
      value = basic(match[1]);
    } else if ((match = /^'([^']*)'\s*(#.*)?$/.exec(rest))) {
      value = match[1];
    } else {
      throw new Error(`${path}:${i + 1}: ${key[1]} is not a string this reader understands`);
    }
    values[key[1]] = value;
  }
  return values;
}
