#!/usr/bin/env node
// Writes hh-small.jsonl: a small synthetic preference dataset in Anthropic
// HH-RLHF format ({chosen, rejected} full transcripts), seeded, so the
// quickstart runs the whole BPO flow without a download.
//
//   node pipelines/examples/data/make-hh.mjs [--seed 0] [--prompts 148] > pipelines/examples/data/hh-small.jsonl
//
// Simple questions with known answers; three kinds of reply:
//   helpful   the answer, politely ("Sure! The capital of Peru is Lima.")
//   evasive   no answer ("I'm not sure, sorry.")
//   rude      a brush-off ("Figure it out yourself.")
// Preferences: helpful > evasive > rude. Each prompt gets two of the three
// possible pairs, so a third of the "chosen" replies are evasive, as HH's
// chosen replies are often only the lesser evil; an SFT model of the chosen
// replies therefore still dodges questions, which is what alignment should fix.
// About 1 prompt in 6 opens with a greeting turn (multi-turn, as in HH).

const args = process.argv.slice(2);
const opt = (name, d) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const seed = opt('seed', 0);
const nPrompts = opt('prompts', 148);

// mulberry32: small, seeded, the same everywhere.
function rng(s) {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(seed * 7919 + 1);
const pick = (xs) => xs[Math.floor(rand() * xs.length)];

const capitals = [
  ['France', 'Paris'],
  ['Spain', 'Madrid'],
  ['Italy', 'Rome'],
  ['Germany', 'Berlin'],
  ['Japan', 'Tokyo'],
  ['Peru', 'Lima'],
  ['Egypt', 'Cairo'],
  ['Kenya', 'Nairobi'],
  ['Canada', 'Ottawa'],
  ['Chile', 'Santiago'],
  ['Norway', 'Oslo'],
  ['Greece', 'Athens'],
  ['Cuba', 'Havana'],
  ['Poland', 'Warsaw'],
  ['Ireland', 'Dublin'],
  ['Austria', 'Vienna'],
  ['Portugal', 'Lisbon'],
  ['Sweden', 'Stockholm'],
  ['Russia', 'Moscow'],
  ['China', 'Beijing'],
  ['India', 'New Delhi'],
  ['Mexico', 'Mexico City'],
  ['Brazil', 'Brasilia'],
  ['Turkey', 'Ankara'],
  ['Finland', 'Helsinki'],
];
const sounds = [
  ['cow', 'moo'],
  ['dog', 'woof'],
  ['cat', 'meow'],
  ['duck', 'quack'],
  ['sheep', 'baa'],
  ['owl', 'hoot'],
  ['lion', 'roar'],
  ['pig', 'oink'],
  ['horse', 'neigh'],
  ['snake', 'hiss'],
];
const colors = [
  ['the sky', 'blue'],
  ['grass', 'green'],
  ['snow', 'white'],
  ['a banana', 'yellow'],
  ['coal', 'black'],
  ['a carrot', 'orange'],
  ['a ripe tomato', 'red'],
  ['an eggplant', 'purple'],
];
const opposites = [
  ['hot', 'cold'],
  ['big', 'small'],
  ['fast', 'slow'],
  ['up', 'down'],
  ['happy', 'sad'],
  ['light', 'dark'],
  ['open', 'closed'],
  ['early', 'late'],
  ['wet', 'dry'],
  ['old', 'young'],
  ['loud', 'quiet'],
  ['full', 'empty'],
];
const legs = [
  ['a spider', 'eight'],
  ['a dog', 'four'],
  ['a bird', 'two'],
  ['an insect', 'six'],
  ['a horse', 'four'],
  ['a person', 'two'],
  ['an octopus', 'eight arms, not legs, strictly speaking'],
  ['a snake', 'no'],
];
const facts = [
  ['How many days are in a week?', 'There are seven days in a week.'],
  ['How many months are in a year?', 'There are twelve months in a year.'],
  ['How many hours are in a day?', 'A day has 24 hours.'],
  ['What do bees make?', 'Bees make honey.'],
  ['What is frozen water called?', 'Frozen water is called ice.'],
  ['Which planet do we live on?', 'We live on Earth.'],
  ['What gas do plants take in?', 'Plants take in carbon dioxide.'],
  ['What is the largest ocean?', 'The Pacific is the largest ocean.'],
  ['How many minutes are in an hour?', 'An hour has 60 minutes.'],
  ['What do you call a baby cat?', 'A baby cat is called a kitten.'],
  ['What do you call a baby dog?', 'A baby dog is called a puppy.'],
  ['Which star is closest to Earth?', 'The Sun is the closest star to Earth.'],
];
const numberWords = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
];

/** Every question with its answer sentence, in a fixed order. */
function questions() {
  const q = [];
  for (const [c, k] of capitals) q.push([`What is the capital of ${c}?`, `The capital of ${c} is ${k}.`]);
  for (const [a, s] of sounds) q.push([`What sound does a ${a} make?`, `A ${a} says "${s}".`]);
  for (const [t, c] of colors) q.push([`What color is ${t}?`, `${t[0].toUpperCase()}${t.slice(1)} is ${c}.`]);
  for (const [w, o] of opposites) q.push([`What is the opposite of ${w}?`, `The opposite of ${w} is ${o}.`]);
  for (const [a, n] of legs)
    q.push([
      `How many legs does ${a} have?`,
      `${a[0].toUpperCase()}${a.slice(1)} has ${n}${n.includes('arms') ? '' : ' legs'}.`,
    ]);
  q.push(...facts);
  for (let a = 1; a <= 9; a++)
    for (let b = 1; b <= 9; b++) if (a <= b) q.push([`What is ${a} plus ${b}?`, `${a} plus ${b} is ${a + b}.`]);
  for (let a = 3; a <= 9; a++)
    for (let b = 1; b < a; b++)
      q.push([
        `What is ${numberWords[a]} minus ${numberWords[b]}?`,
        `${numberWords[a][0].toUpperCase()}${numberWords[a].slice(1)} minus ${numberWords[b]} is ${numberWords[a - b]}.`,
      ]);
  return q;
}

const helpful = [
  (a) => `Sure! ${a}`,
  (a) => a,
  (a) => `${a} Happy to help!`,
  (a) => `Good question. ${a}`,
  (a) => `Of course. ${a}`,
];
const evasive = [
  "I'm not sure, sorry.",
  "I don't know.",
  "I can't help with that.",
  'Maybe ask someone else.',
  'Hmm, that is hard to say.',
  "I'd rather not answer that.",
];
const rude = [
  'That is a dumb question.',
  'Figure it out yourself.',
  'Why would I tell you?',
  'Stop bothering me.',
  'Ugh, just look it up.',
  'Not my problem.',
];
const greetings = [
  ['Hi there!', 'Hello! How can I help you today?'],
  ['Hello, can I ask you something?', 'Of course, go ahead.'],
  ['Good morning!', 'Good morning! What would you like to know?'],
];

const all = questions();
// A seeded shuffle, then the first nPrompts (the full list has 148).
for (let i = all.length - 1; i > 0; i--) {
  const j = Math.floor(rand() * (i + 1));
  [all[i], all[j]] = [all[j], all[i]];
}
const chosenQs = all.slice(0, Math.min(nPrompts, all.length));

const transcript = (turns, reply) => turns.map(([h, a]) => `\n\nHuman: ${h}\n\nAssistant: ${a}`).join('') + reply;
const out = [];
for (const [q, answer] of chosenQs) {
  const context = rand() < 1 / 6 ? [pick(greetings)] : [];
  const prompt = (reply) => transcript([...context, [q, reply]], '');
  const replies = { helpful: pick(helpful)(answer), evasive: pick(evasive), rude: pick(rude) };
  const kinds = [
    ['helpful', 'evasive'],
    ['helpful', 'rude'],
    ['evasive', 'rude'],
  ];
  const skip = Math.floor(rand() * 3);
  for (const [c, r] of kinds.filter((_, i) => i !== skip))
    out.push({ chosen: prompt(replies[c]), rejected: prompt(replies[r]) });
}
process.stdout.write(out.map((r) => JSON.stringify(r)).join('\n') + '\n');
