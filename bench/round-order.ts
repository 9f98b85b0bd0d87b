/** Two variants measured back to back in every round, so their ratio is taken under the same load. */
export interface MeasuredPair {
  variant: string;
  peer: string;
}

/**
 * Round `round`'s order of measurement of `names`: each peer next to the variants measured against it
 * (the peer first in even rounds, last in odd ones), the other variants alone, the groups rotated so
 * none always runs first or last. Each name is measured once a round: a pair whose variant or peer
 * already has a group joins that group (a variant that is also another pair's peer, say), and a pair
 * of two grouped names adds nothing.
 */
export function roundOrder(names: readonly string[], pairs: readonly MeasuredPair[], round: number): string[] {
  const groupOf = new Map<string, string[]>();
  const pairedGroups: string[][] = [];
  for (const { peer, variant } of pairs) {
    const group = groupOf.get(peer) ?? groupOf.get(variant) ?? [peer];
    if (!groupOf.has(peer) && !groupOf.has(variant)) pairedGroups.push(group);
    for (const name of [peer, variant]) {
      if (groupOf.has(name)) continue;
      if (name !== group[0]) group.push(name);
      groupOf.set(name, group);
    }
  }
  const groups = [
    ...pairedGroups.map(([peer, ...variants]) => (round % 2 === 0 ? [peer, ...variants] : [...variants, peer])),
    ...names.filter((name) => !groupOf.has(name)).map((name) => [name]),
  ];
  return groups.map((_, index) => groups[(index + round) % groups.length]).flat();
}
