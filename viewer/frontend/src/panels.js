// Side-panel pieces: cluster list / topic tree, tags, the column-condition form, filter chips, search results.
import { h, clear, fmt } from './dom.js'
import { clusterColor } from './theme.js'

const swatch = (theme, c) =>
  h('span.swatch', { style: { background: clusterColor(theme, c.cluster, c.noise) }, 'aria-hidden': 'true' })

/** Cluster list (sorted by size or name), or a topic tree when labels have a parent level. */
export function renderClusters(el, { clusters, parents, theme, selected, sortBy, onToggle, onToggleMany, onHover }) {
  clear(el)
  // Noise ("unclustered") always goes last: it is not a topic.
  const sorted = [...clusters].sort(
    (a, b) =>
      Number(!!a.noise) - Number(!!b.noise) ||
      (sortBy === 'name' ? String(a.label).localeCompare(String(b.label)) : b.count - a.count),
  )
  const item = (c) => {
    const on = selected.includes(c.cluster)
    return h(
      'li.cluster',
      {
        role: 'button',
        tabindex: '0',
        'aria-pressed': String(on),
        dataset: { cluster: String(c.cluster), testid: 'cluster-item' },
        on: {
          click: () => onToggle(c.cluster),
          keydown: (e) => e.key === 'Enter' && onToggle(c.cluster),
          mouseenter: () => onHover(c.cluster),
          mouseleave: () => onHover(null),
        },
      },
      swatch(theme, c),
      h('span.check', { 'aria-hidden': 'true' }, on ? '✓' : ''),
      h('span.label', { title: c.description || c.label }, c.label),
      h('span.count', {}, fmt(c.count)),
    )
  }
  if (parents?.length) {
    // parents: topics per level, level 1 (just above the clusters) first; the tree opens at the top level.
    const top = parents.length
    const clustersUnder = (level, id) =>
      level === 1
        ? sorted.filter((c) => c.parent === id)
        : parents[level - 2].filter((t) => t.parent === id).flatMap((t) => clustersUnder(level - 1, t.cluster))
    const topic = (level, t) => {
      const kids = clustersUnder(level, t.cluster)
      if (!kids.length) return null
      const allOn = kids.every((c) => selected.includes(c.cluster))
      const inner =
        level === 1
          ? h('ul.clusters', {}, kids.map(item))
          : [...parents[level - 2]]
              .filter((s) => s.parent === t.cluster)
              .sort((a, b) => b.count - a.count)
              .map((s) => topic(level - 1, s))
              .filter(Boolean)
      return h(
        'details.topic',
        { open: true, dataset: { level: String(level), testid: 'topic' } },
        h(
          'summary',
          {},
          h('span.label', { title: t.description || t.label }, t.label),
          h('span.count', {}, fmt(kids.reduce((n, c) => n + c.count, 0))),
          h(
            'button.mini',
            {
              title: 'Filter to this topic',
              'aria-pressed': String(allOn),
              on: {
                click: (e) => {
                  e.preventDefault()
                  onToggleMany(
                    kids.map((c) => c.cluster),
                    !allOn,
                  )
                },
              },
            },
            allOn ? '✓ topic' : 'filter',
          ),
        ),
        ...[inner].flat(),
      )
    }
    for (const t of [...parents[top - 1]].sort((a, b) => b.count - a.count)) {
      const node = topic(top, t)
      if (node) el.append(node)
    }
    const orphans = sorted.filter((c) => c.parent === undefined || c.parent === null || c.parent < 0)
    if (orphans.length) el.append(h('ul.clusters', {}, orphans.map(item)))
  } else {
    el.append(h('ul.clusters', {}, sorted.map(item)))
  }
}

export function renderTags(el, { tags, active, mode, onToggle, onMode }) {
  clear(el)
  if (!tags.length) {
    el.append(h('p.muted', {}, 'No tags in this dataset.'))
    return
  }
  // Several tags picked: rows in all of them (the server's default) or in any of them.
  const modes = h(
    'select.tags-mode',
    { 'aria-label': 'Rows in', dataset: { testid: 'tags-mode' }, on: { change: (e) => onMode(e.target.value) } },
    h('option', { value: 'all', selected: mode !== 'any' }, 'in all picked tags'),
    h('option', { value: 'any', selected: mode === 'any' }, 'in any picked tag'),
  )
  if (active.length > 1) el.append(modes)
  el.append(
    h(
      'ul.tags',
      {},
      tags.map((t) =>
        h(
          'li',
          {},
          h(
            'button.tag',
            {
              'aria-pressed': String(active.includes(t.tag)),
              dataset: { tag: t.tag },
              on: { click: () => onToggle(t.tag) },
            },
            active.includes(t.tag) ? '✓ ' : '# ',
            t.tag,
            h('span.count', {}, fmt(t.count)),
          ),
        ),
      ),
    ),
  )
}

const OPS = ['=', '!=', '<', '<=', '>', '>=', 'in', 'contains', 'is_null', 'not_null']

/** A small form that adds a column condition ({column, op, value}) to the filters. */
export function renderConditionForm(el, { meta, onAdd }) {
  clear(el)
  const column = h('select', { 'aria-label': 'Column', name: 'column' }, meta.columns.map((c) => h('option', {}, c)))
  const op = h('select', { 'aria-label': 'Operator', name: 'op' }, OPS.map((o) => h('option', {}, o)))
  const value = h('input', { 'aria-label': 'Value', name: 'value', placeholder: 'value' })
  const form = h(
    'form.condition',
    {
      on: {
        submit: (e) => {
          e.preventDefault()
          const col = column.value
          const type = meta.column_metadata?.[col]?.type
          const numeric = ['int', 'float', 'number', 'integer', 'double'].some((t) => String(type).includes(t))
          const parse = (v) => (numeric && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v.trim())
          let v = null
          if (op.value === 'in') v = value.value.split(',').map(parse)
          else if (!op.value.endsWith('null')) v = parse(value.value)
          onAdd({ column: col, op: op.value, value: v })
          value.value = ''
        },
      },
    },
    column,
    op,
    value,
    h('button', { type: 'submit' }, 'Add'),
  )
  el.append(form)
}

export function conditionText(w) {
  if (w.op === 'is_null' || w.op === 'not_null') return `${w.column} ${w.op.replace('_', ' ')}`
  const v = Array.isArray(w.value) ? w.value.join(', ') : w.value
  return `${w.column} ${w.op} ${v}`
}

/** Removable chips, one per active filter. */
export function renderChips(el, { filters, clustersById, theme, selectionCount, onRemove, onClear }) {
  clear(el)
  const chip = (kind, text, remove, dot) =>
    h(
      'span.chip',
      { dataset: { kind, testid: 'chip' } },
      dot,
      h('span.kind', {}, kind),
      h('span.text', {}, text),
      h('button.x', { 'aria-label': `Remove ${kind} filter ${text}`, on: { click: remove } }, '×'),
    )
  for (const c of filters.clusters) {
    const info = clustersById.get(c) || { cluster: c, label: `cluster ${c}` }
    el.append(chip('cluster', info.label, () => onRemove('cluster', c), swatch(theme, info)))
  }
  for (const t of filters.tags) el.append(chip('tag', t, () => onRemove('tag', t)))
  filters.where.forEach((w, i) => el.append(chip('where', conditionText(w), () => onRemove('where', i))))
  if (filters.text) {
    const how = filters.textMode === 'literal' ? '' : ` (${filters.textMode})`
    el.append(chip('keyword', `“${filters.text}”${how}`, () => onRemove('text')))
  }
  if (filters.q) el.append(chip('search', `“${filters.q}” top ${filters.k}`, () => onRemove('q')))
  if (filters.sel.length) el.append(chip('points', `${fmt(filters.sel.length)} picked`, () => onRemove('sel')))
  if (filters.lasso) el.append(chip('lasso', `${fmt(selectionCount)} in lasso`, () => onRemove('lasso')))
  if (el.childElementCount > 1) el.append(h('button.clear', { on: { click: onClear } }, 'Clear all'))
  el.hidden = el.childElementCount === 0
}

export function renderSearchResults(el, { result, theme, clustersById, textColumn, onPick, onHover }) {
  clear(el)
  if (!result) {
    el.hidden = true
    return
  }
  el.hidden = false
  el.append(h('h3', {}, `${result.results.length} nearest to “${result.query}”`))
  el.append(
    h(
      'ol.results',
      {},
      result.results.map((r) =>
        h(
          'li.result',
          {
            dataset: { lsIndex: String(r.ls_index), testid: 'search-result' },
            on: { click: () => onPick(r), mouseenter: () => onHover(r), mouseleave: () => onHover(null) },
          },
          swatch(theme, clustersById.get(r.cluster) || { cluster: r.cluster }),
          h('span.score', { title: 'cosine similarity' }, r.score.toFixed(3)),
          h('span.snippet', {}, String(r[textColumn] ?? '')),
        ),
      ),
    ),
  )
}
