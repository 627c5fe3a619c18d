import { beforeAll, describe, expect, it } from 'vitest';
import { classifyChunk, type ChunkKind } from '../src/corpus/classify.js';
import { isHeldout, seededSample, seededUnit } from '../src/corpus/seeded.js';
import {
  SPAM_ASSASSIN_MESSAGE_COUNT,
  loadSpamAssassin,
  messageExamples,
  spamAssassinExamples,
  type SpamAssassinMessage,
} from '../src/corpus/spam-assassin.js';
import { chunkUtf8, messageBody } from '../src/corpus/text.js';

/** A small seeded generator (mulberry32), so the random strings are the same on every run. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Returns a random string that mixes 1-, 2-, 3- and 4-byte UTF-8 characters. */
function randomText(random: () => number, length: number): string {
  const alphabet = ['a', 'Z', ' ', '\n', 'é', 'ß', 'Ж', '€', '日', '本', '😀', '𝄞', '🇫🇷'];
  let text = '';
  for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)];
  return text;
}

const byteLength = (text: string) => Buffer.byteLength(text, 'utf8');

describe('chunkUtf8', () => {
  it('cuts ASCII into exact chunks', () => {
    expect(chunkUtf8('abcdefghij', 4, 0)).toEqual(['abcd', 'efgh', 'ij']);
  });

  it('never splits a character', () => {
    const random = mulberry32(42);
    for (let trial = 0; trial < 200; trial++) {
      const text = randomText(random, 1 + Math.floor(random() * 300));
      const chunkBytes = 4 + Math.floor(random() * 40);
      const chunks = chunkUtf8(text, chunkBytes, 0);

      expect(chunks.join('')).toBe(text);
      for (const chunk of chunks) {
        expect(byteLength(chunk)).toBeLessThanOrEqual(chunkBytes);
        expect(byteLength(chunk)).toBeGreaterThan(0);
        expect(chunk).not.toContain('\uFFFD');
        expect(Buffer.from(chunk, 'utf8').toString('utf8')).toBe(chunk);
      }
      // Every chunk but the last is cut as late as possible: at most 3 bytes short.
      for (const chunk of chunks.slice(0, -1)) {
        expect(byteLength(chunk)).toBeGreaterThan(chunkBytes - 4);
      }
    }
  });

  it('moves straddling character to next chunk', () => {
    // 'ab' is 2 bytes and '€' is 3, so a 4-byte cut would fall inside the euro sign.
    expect(chunkUtf8('ab€€', 4, 0)).toEqual(['ab', '€', '€']);
  });

  it('drops a short last chunk', () => {
    expect(chunkUtf8('x'.repeat(16 + 3), 16)).toEqual(['x'.repeat(16)]);
  });

  it('keeps a last chunk of a quarter', () => {
    expect(chunkUtf8('x'.repeat(16 + 4), 16)).toEqual(['x'.repeat(16), 'xxxx']);
  });

  it('keeps a short only chunk', () => {
    expect(chunkUtf8('hi', 256)).toEqual(['hi']);
  });

  it('returns nothing for empty text', () => {
    expect(chunkUtf8('', 16)).toEqual([]);
  });

  it('rejects chunk size below 4', () => {
    expect(() => chunkUtf8('abc', 3)).toThrow(/chunkBytes must be an integer of at least 4, got 3/);
  });
});

describe('messageBody', () => {
  it('removes headers up to first empty line', () => {
    expect(messageBody('Subject: hi\nFrom: a@b\n\nBody line\n\nmore')).toBe('Body line\n\nmore');
  });

  it('handles CRLF line endings', () => {
    expect(messageBody('Subject: hi\r\n\r\nBody')).toBe('Body');
  });

  it('returns empty body without empty line', () => {
    expect(messageBody('Subject: hi\nFrom: a@b\n')).toBe('');
  });

  it('returns all text without headers', () => {
    expect(messageBody('\nonly body')).toBe('only body');
  });
});

describe('seeded choices', () => {
  it('draws the same unit for same arguments', () => {
    expect(seededUnit('heldout', 3, 'spam-1/00001')).toBe(seededUnit('heldout', 3, 'spam-1/00001'));
    expect(seededUnit('heldout', 3, 'spam-1/00001')).not.toBe(
      seededUnit('heldout', 4, 'spam-1/00001'),
    );
  });

  it('samples subsets that nest', () => {
    const items = Array.from({ length: 500 }, (_, i) => `item-${i}`);
    const small = seededSample(items, 20, 9, (item) => item);
    const large = seededSample(items, 100, 9, (item) => item);

    expect(small).toHaveLength(20);
    expect(large).toHaveLength(100);
    expect(large).toEqual(expect.arrayContaining(small));
    expect([...small].sort((a, b) => items.indexOf(a) - items.indexOf(b))).toEqual(small);
    expect(seededSample(items, 20, 10, (item) => item)).not.toEqual(small);
  });

  it('holds out about the fraction', () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => `k${i}`);
    const heldout = keys.filter((key) => isHeldout(key, 1, 0.25)).length;
    expect(heldout).toBeGreaterThan(2300);
    expect(heldout).toBeLessThan(2700);
    expect(keys.filter((key) => isHeldout(key, 1, 0)).length).toBe(0);
  });
});

describe('SpamAssassin corpus', () => {
  let messages: SpamAssassinMessage[];
  beforeAll(async () => {
    messages = await loadSpamAssassin();
  });

  it('loads all 6,046 messages', () => {
    expect(messages).toHaveLength(SPAM_ASSASSIN_MESSAGE_COUNT);
    expect(new Set(messages.map((message) => message.key)).size).toBe(6046);
  });

  it('counts messages per group', () => {
    const counts: Record<string, number> = {};
    for (const message of messages) counts[message.group] = (counts[message.group] ?? 0) + 1;
    expect(counts).toEqual({
      'easy-ham-1': 2500,
      'easy-ham-2': 1400,
      'hard-ham-1': 250,
      'spam-1': 500,
      'spam-2': 1396,
    });
  });

  it('labels spam groups as spam', () => {
    for (const message of messages) {
      expect(message.label).toBe(message.group.startsWith('spam') ? 'spam' : 'ham');
    }
  });

  it('samples the same messages per seed', async () => {
    const first = await loadSpamAssassin({ maxMessages: 40, seed: 7 });
    const again = await loadSpamAssassin({ maxMessages: 40, seed: 7 });
    const larger = await loadSpamAssassin({ maxMessages: 120, seed: 7 });
    const otherSeed = await loadSpamAssassin({ maxMessages: 40, seed: 8 });
    const keys = (sample: SpamAssassinMessage[]) => sample.map((message) => message.key);

    expect(first).toHaveLength(40);
    expect(keys(again)).toEqual(keys(first));
    expect(keys(larger)).toEqual(expect.arrayContaining(keys(first)));
    expect(keys(otherSeed)).not.toEqual(keys(first));
  });

  it('sampled texts match the full load', async () => {
    const byKey = new Map(messages.map((message) => [message.key, message]));
    for (const message of await loadSpamAssassin({ maxMessages: 25, seed: 3 })) {
      expect(message).toEqual(byKey.get(message.key));
    }
  });

  it('rejects maxMessages below 1', async () => {
    await expect(loadSpamAssassin({ maxMessages: 0 })).rejects.toThrow(
      /maxMessages must be an integer of at least 1, got 0/,
    );
  });

  it('splits held-out by message', () => {
    const options = { shape: 'CHUNKS', chunkBytes: 128, heldoutFraction: 0.1, seed: 5 } as const;
    let heldoutMessages = 0;
    for (const message of messages.slice(0, 600)) {
      const splits = new Set(messageExamples(message, options).map((example) => example.split));
      expect(splits.size).toBe(1);
      if (splits.has('HELDOUT')) heldoutMessages += 1;
    }
    expect(heldoutMessages).toBeGreaterThan(30);
    expect(heldoutMessages).toBeLessThan(90);
  });

  it('held-out choice ignores sample size', async () => {
    const options = { shape: 'MESSAGES', heldoutFraction: 0.3, seed: 11 } as const;
    const full = new Map<string, string>();
    for (const message of messages) {
      for (const example of messageExamples(message, options)) {
        full.set(example.externalId, example.split);
      }
    }
    const heldout = [...full.values()].filter((split) => split === 'HELDOUT').length;
    expect(heldout / messages.length).toBeGreaterThan(0.28);
    expect(heldout / messages.length).toBeLessThan(0.32);

    const sampled = await spamAssassinExamples({ ...options, maxMessages: 300 });
    expect(sampled).toHaveLength(300);
    for (const example of sampled) expect(example.split).toBe(full.get(example.externalId));

    const reseeded = await spamAssassinExamples({ ...options, seed: 12, maxMessages: 300 });
    expect(reseeded.map((example) => example.split)).not.toEqual(
      sampled.map((example) => example.split),
    );
  });

  it('cuts chunks with ids and meta', () => {
    const message = messages.find((candidate) => candidate.key === 'spam-2/00001');
    expect(message).toBeDefined();
    const examples = messageExamples(message as SpamAssassinMessage, { chunkBytes: 64 });

    expect(examples.length).toBeGreaterThan(1);
    examples.forEach((example, chunkIndex) => {
      expect(example.externalId).toBe(`spam-2/00001#${chunkIndex}`);
      expect(example.source).toBe('spam-2');
      expect(example.label).toBe('spam');
      expect(example.meta).toEqual({
        messageId: 'spam-2/00001',
        group: 'spam-2',
        chunkIndex,
        kind: classifyChunk(example.text),
      });
      expect(byteLength(example.text)).toBeLessThanOrEqual(64);
    });
    expect(message?.text.startsWith(examples.map((example) => example.text).join(''))).toBe(true);
  });

  it('keeps UTF-8 boundaries across corpus', () => {
    const multibyte = messages.filter((message) => /[^\p{ASCII}]/u.test(message.text)).slice(0, 80);
    expect(multibyte.length).toBeGreaterThan(50);
    for (const message of multibyte) {
      const chunks = messageExamples(message, { chunkBytes: 17, minLastChunkBytes: 0 });
      expect(chunks.map((example) => example.text).join('')).toBe(message.text);
      for (const chunk of chunks) expect(byteLength(chunk.text)).toBeLessThanOrEqual(17);
    }
  });

  it('builds message and body shapes', () => {
    for (const message of messages.slice(0, 50)) {
      const [whole] = messageExamples(message, { shape: 'MESSAGES' });
      expect(whole?.externalId).toBe(message.key);
      expect(whole?.text).toBe(message.text);
      expect(whole?.meta).toEqual({ messageId: message.key, group: message.group });

      const [body] = messageExamples(message, { shape: 'BODIES' });
      expect(body?.text).toBe(messageBody(message.text));
      expect(body?.text.length).toBeLessThan(message.text.length);
      expect(message.text.endsWith(body?.text ?? '')).toBe(true);
    }
  });

  it('rejects held-out fraction of 1', () => {
    expect(() =>
      messageExamples(messages[0] as SpamAssassinMessage, { heldoutFraction: 1 }),
    ).toThrow(/heldoutFraction must be in \[0, 1\), got 1/);
  });
});

describe('classifyChunk', () => {
  const samples: Array<[ChunkKind, string]> = [
    [
      'base64',
      'R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==\n' +
        'UEsDBBQAAAAIAGZ2l1R8KxV0aW1lc3RhbXAxMjM0NTY3ODkw\nQUJDREVGR0hJSktMTU5PUFFSU1RVVldY',
    ],
    [
      'html',
      '<table width="100%"><tr><td><font face="Arial" size="2">Click <a href="http://x.example/">' +
        'here</a></font></td></tr></table>',
    ],
    [
      'header',
      'From someone@example.com  Thu Aug 22 12:36:23 2002\nReturn-Path: <a@example.com>\n' +
        'Received: from localhost (localhost [127.0.0.1])\n\tby mail.example.com (Postfix)\n' +
        'Subject: Re: meeting\nDate: Thu, 22 Aug 2002 12:36:16 +0100\n',
    ],
    [
      'quoted',
      '> I think the patch is fine, but\n> the tests need another look.\n>> Did you run them?\n' +
        '> Yes, twice.\n',
    ],
    [
      'prose',
      'I tried the new release last night and it works well on my laptop. The install took ' +
        'a few minutes and the docs were clear about what to change in the config file.',
    ],
    ['other', '=3D=20=3D=20=3D=20 12.50 | 13.75 | 99.01 =3D=20\n---- ---- ---- 0x7f 0x80 ++--'],
    ['other', '   \n\t\n'],
  ];

  for (const [kind, text] of samples) {
    it(`classifies ${kind} sample ${JSON.stringify(text.slice(0, 20))}`, () => {
      expect(classifyChunk(text)).toBe(kind);
    });
  }

  it('ignores mail addresses in angle brackets', () => {
    const text =
      'List-Id: Discussion list <exmh-users.example.com>\nList-Post: <mailto:exmh@example.com>\n' +
      'List-Help: <mailto:exmh-request@example.com?subject=help>\nTo: <jm@example.org>\n';
    expect(classifyChunk(text)).toBe('header');
  });
});
