/** A location in the parsed document: mapping keys and sequence indexes, root first. */
export type YamlPath = (string | number)[];

const SIMPLE_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `steps[0].with.data`: how the user would describe the spot in their file. */
export function formatPath(path: YamlPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (SIMPLE_KEY.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** `path: message`, or just the message for the document root. */
export function at(path: YamlPath, message: string): string {
  return path.length === 0 ? message : `${formatPath(path)}: ${message}`;
}
