/** Consumer groups on the local stack's Kafka, read through the admin API: who holds which partitions. */
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import { STACK } from '@llm-cache/testing';

export interface GroupWanted {
  group: string;
  /** The topic whose partitions the members share. */
  topic: string;
  members: number;
}

/**
 * Waits (at most `timeoutMs`) until every group is stable with the wanted number of members, each
 * holding at least one partition of its topic; resolves to the partitions of each member, by group
 * (members in no particular order). Throws with what the groups looked like when the time is up.
 */
export async function waitForGroups(wanted: GroupWanted[], timeoutMs = 60_000): Promise<Record<string, number[][]>> {
  const kafka = new Kafka({ clientId: 'llm-cache-bench-groups', brokers: [STACK.kafkaBrokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const until = performance.now() + timeoutMs;
    for (;;) {
      const { groups } = await admin.describeGroups(wanted.map((w) => w.group));
      const seen: Record<string, number[][]> = {};
      const states: string[] = [];
      for (const { group, topic, members } of wanted) {
        const described = groups.find((g) => g.groupId === group);
        const held = (described?.members ?? []).map((member) => {
          const assignment = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
          return [...(assignment?.assignment[topic] ?? [])].sort((a, b) => a - b);
        });
        seen[group] = held;
        states.push(`${group}: ${described?.state ?? 'absent'}, ${held.length}/${members} members, partitions ${JSON.stringify(held)}`);
      }
      const ready = wanted.every(({ group, members }) => {
        const held = seen[group] ?? [];
        return groups.find((g) => g.groupId === group)?.state === 'Stable' && held.length === members && held.every((p) => p.length > 0);
      });
      if (ready) return seen;
      if (performance.now() > until) throw new Error(`consumer groups not settled within ${timeoutMs} ms:\n${states.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    await admin.disconnect();
  }
}
