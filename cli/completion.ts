// `bpoflow completion bash|zsh|fish`: shell completion generated from the
// command tree itself, so a new command or option completes without editing
// this file. Arguments that are not commands fall back to file names.
import type { Command } from 'commander';

interface Node {
  /** Space-separated path from the root, '' for `bpoflow` itself. */
  path: string;
  commands: string[];
  options: string[];
}

function walk(cmd: Command, path = ''): Node[] {
  const commands = cmd.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden).map((c) => c.name());
  const options = [...cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f))), '--help'];
  return [
    { path, commands, options },
    ...cmd.commands.flatMap((c) => walk(c, path ? `${path} ${c.name()}` : c.name())),
  ];
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function bash(nodes: Node[], name: string): string {
  const fn = `_${name}_complete`;
  // Keyed by the command path from the program's name: bash arrays take no empty key.
  const key = (n: Node) => quote(n.path ? `${name} ${n.path}` : name);
  const entries = (pick: (n: Node) => string[]) =>
    nodes.map((n) => `  [${key(n)}]=${quote(pick(n).join(' '))}`).join('\n');
  return `# ${name} completion for bash: eval "$(${name} completion bash)"
declare -gA ${fn}_commands=(
${entries((n) => n.commands)}
)
declare -gA ${fn}_options=(
${entries((n) => n.options)}
)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path=${name} word i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    [[ $word == -* ]] && continue
    case " \${${fn}_commands[$path]} " in
      *" $word "*) path="$path $word" ;;
    esac
  done
  local words="\${${fn}_commands[$path]} \${${fn}_options[$path]}"
  [[ $cur == -* ]] && words="\${${fn}_options[$path]}"
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F ${fn} ${name}
`;
}

function zsh(nodes: Node[], name: string): string {
  // zsh runs the bash function through its bashcompinit layer.
  return `# ${name} completion for zsh: eval "$(${name} completion zsh)"
autoload -U +X bashcompinit && bashcompinit
${bash(nodes, name)}`;
}

function fish(nodes: Node[], name: string): string {
  const lines = [`# ${name} completion for fish: ${name} completion fish | source`, `complete -c ${name} -f`];
  for (const n of nodes) {
    const words = n.path ? n.path.split(' ') : [];
    // The condition: exactly this command path has been typed so far.
    const cond = words.length
      ? `__fish_seen_subcommand_from ${words[words.length - 1]}` +
        (words.length > 1 ? `; and __fish_seen_subcommand_from ${words[0]}` : '')
      : '__fish_use_subcommand';
    if (n.commands.length) lines.push(`complete -c ${name} -n ${quote(cond)} -a ${quote(n.commands.join(' '))}`);
    for (const o of n.options.filter((x) => x.startsWith('--')))
      lines.push(`complete -c ${name} -n ${quote(cond)} -l ${o.slice(2)}`);
    if (!n.commands.length) lines.push(`complete -c ${name} -n ${quote(cond)} -F`);
  }
  return lines.join('\n') + '\n';
}

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

export function completionScript(program: Command, shell: Shell): string {
  const nodes = walk(program);
  const name = program.name();
  return shell === 'bash' ? bash(nodes, name) : shell === 'zsh' ? zsh(nodes, name) : fish(nodes, name);
}
