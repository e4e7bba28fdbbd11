// Rewrites the generated part of a Markdown file: the text between
// `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->`, markers kept.

export function replaceMarkedSection(text: string, name: string, body: string): string {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`no "${start}" … "${end}" section to rewrite`);
  if (text.indexOf(start, from + 1) >= 0) throw new Error(`"${start}" appears more than once`);
  return `${text.slice(0, from + start.length)}\n${body.trim()}\n${text.slice(to)}`;
}
