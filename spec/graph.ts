/**
 * Kahn's algorithm, always taking the ready node that comes first in the file, so the
 * plan's order is deterministic and reads like the YAML. Returns undefined on a cycle.
 */
export function topoSort(ids: string[], needs: Map<string, Iterable<string>>): string[] | undefined {
  const index = new Map(ids.map((id, i) => [id, i]));
  const waiting = new Map(ids.map((id) => [id, 0]));
  const dependents = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const id of ids) {
    for (const dep of new Set(needs.get(id) ?? [])) {
      if (!index.has(dep)) continue;
      waiting.set(id, waiting.get(id)! + 1);
      dependents.get(dep)!.push(id);
    }
  }
  const ready = ids.filter((id) => waiting.get(id) === 0);
  const order: string[] = [];
  while (ready.length > 0) {
    const id = ready.shift()!;
    order.push(id);
    for (const d of dependents.get(id)!) {
      const left = waiting.get(d)! - 1;
      waiting.set(d, left);
      if (left === 0) insertSorted(ready, d, index);
    }
  }
  return order.length === ids.length ? order : undefined;
}

function insertSorted(queue: string[], id: string, index: Map<string, number>): void {
  const i = queue.findIndex((q) => index.get(q)! > index.get(id)!);
  if (i < 0) queue.push(id);
  else queue.splice(i, 0, id);
}

/**
 * One cycle per strongly connected component (Tarjan), as [a, b, …, a] where each node
 * needs the next, starting from the component's first node in file order. One per
 * component because the same loop seen from each member would otherwise be reported
 * once per member. Self-loops are left to the caller, which words them differently.
 */
export function findCycles(ids: string[], needs: Map<string, Iterable<string>>): string[][] {
  const index = new Map(ids.map((id, i) => [id, i]));
  const edges = (id: string) => [...new Set(needs.get(id) ?? [])].filter((d) => index.has(d) && d !== id);
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let counter = 0;
  const visit = (v: string) => {
    order.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges(v)) {
      if (!order.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, order.get(w)!));
    }
    if (low.get(v) === order.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) components.push(comp);
    }
  };
  for (const id of ids) if (!order.has(id)) visit(id);

  return components
    .map((comp) => {
      const members = new Set(comp);
      const first = comp.reduce((a, b) => (index.get(a)! < index.get(b)! ? a : b));
      // Shortest way back to `first` inside the component (BFS), so the reported path is minimal.
      const parent = new Map<string, string>();
      const queue = [first];
      while (queue.length > 0) {
        const v = queue.shift()!;
        for (const w of edges(v)) {
          if (!members.has(w)) continue;
          if (w === first) {
            const path = [first];
            for (let x = v; x !== first; x = parent.get(x)!) path.splice(1, 0, x);
            return [...path, first];
          }
          if (!parent.has(w)) {
            parent.set(w, v);
            queue.push(w);
          }
        }
      }
      return [first, first];
    })
    .sort((a, b) => index.get(a[0]!)! - index.get(b[0]!)!);
}
