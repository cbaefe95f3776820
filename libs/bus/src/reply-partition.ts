import kafkajs, {
  AssignerProtocol,
  Partitioners,
  type Admin,
  type Assignment,
  type ICustomPartitioner,
  type PartitionAssigner,
} from 'kafkajs';

/** The assignment protocol of reply groups; it also tells them apart from other groups. */
export const REPLY_ASSIGNER = 'LlmCacheReplyPartition';

/**
 * The assigner of a reply group, which belongs to one process: its member takes `partition` of the
 * reply topics and every partition of the others. kafkajs has no manual assignment; this keeps the
 * group's committed offsets and liveness while reading one chosen partition. Every member gets the
 * same assignment: a second one can only be an earlier incarnation of the same consumer whose
 * session has not expired yet, and the live one must not wait for it.
 */
export function replyAssigner(partition: number, replyTopics: ReadonlySet<string>): PartitionAssigner {
  return ({ cluster }) => ({
    name: REPLY_ASSIGNER,
    version: 0,
    protocol: ({ topics }) => ({
      name: REPLY_ASSIGNER,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    }),
    assign: async ({ members, topics }) => {
      const assignment: Assignment = {};
      for (const topic of topics) {
        assignment[topic] = replyTopics.has(topic) ? [partition] : cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId);
      }
      const memberAssignment = AssignerProtocol.MemberAssignment.encode({ version: 0, assignment, userData: Buffer.alloc(0) });
      return members.map(({ memberId }) => ({ memberId, memberAssignment }));
    },
  });
}

/**
 * The partition for a new reply group: one that every reply topic has and that the fewest live reply
 * groups of this prefix read (a random one among those), so that while there are no more readers
 * than partitions each reads its own replies only. When the groups cannot be listed (no Describe
 * right) the pick is random; two readers starting at the same moment may pick the same partition,
 * which costs reads, never replies.
 */
export async function leastReadPartition(
  admin: Admin,
  groupPrefix: string,
  topics: readonly string[],
  onListFailure: (error: unknown) => void,
): Promise<number> {
  const metadata = await admin.fetchTopicMetadata({ topics: [...topics] });
  const count = Math.min(...metadata.topics.map((topic) => topic.partitions.length));
  const readers = new Array<number>(count).fill(0);
  try {
    for (const read of await partitionsReadByReplyGroups(admin, groupPrefix, topics)) {
      for (const partition of read) if (partition < count) readers[partition] = (readers[partition] ?? 0) + 1;
    }
  } catch (error) {
    onListFailure(error);
  }
  const fewest = Math.min(...readers);
  const choices = readers.flatMap((n, partition) => (n === fewest ? [partition] : []));
  return choices[Math.floor(Math.random() * choices.length)] ?? 0;
}

/** The partitions of `topics` that each live reply group of this prefix reads. */
async function partitionsReadByReplyGroups(admin: Admin, groupPrefix: string, topics: readonly string[]): Promise<Array<Set<number>>> {
  const { groups } = await admin.listGroups();
  const ids = groups.filter((group) => group.protocolType === 'consumer' && group.groupId.startsWith(groupPrefix)).map((g) => g.groupId);
  if (ids.length === 0) return [];
  const described = await admin.describeGroups(ids);
  return described.groups
    .filter((group) => group.protocol === REPLY_ASSIGNER)
    .map((group) => {
      const read = new Set<number>();
      for (const member of group.members) {
        const assignment = AssignerProtocol.MemberAssignment.decode(member.memberAssignment)?.assignment ?? {};
        for (const topic of topics) for (const partition of assignment[topic] ?? []) read.add(partition);
      }
      return read;
    });
}

/**
 * kafkajs's default partitioner, except for a record sent to a partition this producer's metadata
 * does not know yet (a partition added since it last looked): kafkajs would drop that record and
 * report success; failing as unloaded metadata makes it refresh its metadata and retry instead.
 */
export const checkedPartitioner: ICustomPartitioner = () => {
  const partitioner = Partitioners.DefaultPartitioner();
  return (args) => {
    const wanted = args.message.partition;
    if (wanted !== undefined && wanted !== null && !args.partitionMetadata.some((p) => p.partitionId === wanted)) {
      // Its error classes are not named exports of kafkajs's ES module face.
      const NotLoaded = kafkajs.KafkaJSMetadataNotLoaded as unknown as new (message: string) => Error;
      throw new NotLoaded(`no metadata yet for partition ${wanted} of ${args.topic}`);
    }
    return partitioner(args);
  };
};
