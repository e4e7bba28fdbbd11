/** A user-facing error in a pipeline file. `line` and `col` are 1-based. */
export interface Problem {
  file: string;
  line: number;
  col: number;
  message: string;
}

/** The `file:line:col: message` shape editors and CI annotators recognize. */
export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.message}`;
}

/** Stable sort by position, so problems found by different passes read top to bottom. */
export function sortProblems(problems: Problem[]): Problem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) =>
      a.p.file < b.p.file ? -1 : a.p.file > b.p.file ? 1 : a.p.line - b.p.line || a.p.col - b.p.col || a.i - b.i,
    )
    .map(({ p }) => p);
}
