// What the previous docs/benchmarks.md said about each scenario, so a run of some scenarios on
// a checkout without the others' result files (bench/results/ is git-ignored) keeps their last
// published sections instead of dropping them.

/**
 * Parse a generated report: per scenario title, its section body (the lines after its
 * `## N. title` heading), its rows of the Targets table, and its entry in "Scenario runs"; and
 * the Machine lines (kept when nothing was run at all).
 */
export function previousSections(text) {
  const sections = new Map();
  const targets = new Map();
  const runs = new Map();
  const machine = [];
  if (!text) return { sections, targets, runs, machine };
  const lines = text.split('\n');
  let inTargets = false;
  let inMachine = false;
  let current = null;
  for (const line of lines) {
    const heading = /^## (?:(\d+)\. )?(.*)$/.exec(line);
    if (heading) {
      inTargets = heading[2] === 'Targets' && !heading[1];
      inMachine = heading[2] === 'Machine' && !heading[1];
      current = heading[1] ? [] : null;
      if (current) sections.set(heading[2], current);
      continue;
    }
    if (current) current.push(line);
    else if (inMachine && line.startsWith('- ')) machine.push(line);
    else if (inTargets && line.startsWith('| ') && !line.startsWith('| Scenario |')) {
      const title = line.slice(2, line.indexOf(' | '));
      targets.set(title, [...(targets.get(title) ?? []), line]);
    }
    const list = /^- Scenario runs: (.*)\.$/.exec(line);
    if (list) {
      for (const entry of list[1].split('; ')) runs.set(entry.split(' ')[0], entry);
    }
  }
  return { sections, targets, runs, machine };
}
