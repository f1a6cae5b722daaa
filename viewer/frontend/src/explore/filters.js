// Filter changes as pure functions: each takes the URL filters and returns new ones, never changing its input.

/** Picking a cluster adds it; picking it again removes it. */
export function toggleCluster(filters, cluster) {
  const cl = filters.clusters
  return { ...filters, clusters: cl.includes(cluster) ? cl.filter((x) => x !== cluster) : [...cl, cluster] }
}

/** A topic's clusters all on or all off. */
export function toggleClusters(filters, ids, on) {
  const rest = filters.clusters.filter((x) => !ids.includes(x))
  return { ...filters, clusters: on ? [...rest, ...ids] : rest }
}

/** Picking a tag adds it to the tag filter (rows in all of them, or any: see withTagsMode); again removes it. */
export function toggleTag(filters, tag) {
  const tags = filters.tags
  return { ...filters, tags: tags.includes(tag) ? tags.filter((t) => t !== tag) : [...tags, tag] }
}

/** 'all': rows in every picked tag; 'any': rows in at least one. */
export function withTagsMode(filters, mode) {
  return { ...filters, tagsMode: mode === 'any' ? 'any' : 'all' }
}

/** Without one chip: kind is cluster, tag, where (value: its position), text, q, sel or lasso. */
export function withoutFilter(filters, kind, value) {
  const f = { ...filters }
  if (kind === 'cluster') f.clusters = f.clusters.filter((c) => c !== value)
  if (kind === 'tag') f.tags = f.tags.filter((t) => t !== value)
  if (kind === 'where') f.where = f.where.filter((_, i) => i !== value)
  if (kind === 'q') f.q = ''
  if (kind === 'text') f.text = ''
  if (kind === 'sel') f.sel = []
  if (kind === 'lasso') f.lasso = null
  return f
}

export function withoutAll(filters) {
  return { ...filters, clusters: [], tags: [], tagsMode: 'all', where: [], text: '', q: '', sel: [], lasso: null }
}

/** A clicked point: alone, added to (shift) or removed from the picked points. */
export function withPicked(filters, lsIndex, shift) {
  const sel = filters.sel
  const next = sel.includes(lsIndex) ? sel.filter((i) => i !== lsIndex) : shift ? [...sel, lsIndex] : [lsIndex]
  return { ...filters, sel: next }
}

/** Scope switches keep the column filters and the search, not what only means something on this map. */
export function forAnotherScope(filters) {
  return { ...filters, clusters: [], sel: [], lasso: null }
}

/** The column's conditions gone (a facet's own filter cleared). */
export function withoutColumn(filters, column) {
  return { ...filters, where: filters.where.filter((w) => w.column !== column) }
}

/** The values a column's conditions pick (`=` or `in`), and whether they ask for nulls. */
export function pickedValues(filters, column) {
  const values = []
  let nulls = false
  for (const w of filters.where) {
    if (w.column !== column) continue
    if (w.op === '=') values.push(w.value)
    if (w.op === 'in' && Array.isArray(w.value)) values.push(...w.value)
    if (w.op === 'is_null') nulls = true
  }
  return { values, nulls }
}

/** A category bar clicked: its value joins the column's picked values, or leaves them (one `in` condition). */
export function withValueToggled(filters, column, value) {
  const { values } = pickedValues(filters, column)
  const next = values.includes(value) ? values.filter((v) => v !== value) : [...values, value]
  const rest = withoutColumn(filters, column)
  if (!next.length) return rest
  const condition = next.length === 1 ? { column, op: '=', value: next[0] } : { column, op: 'in', value: next }
  return { ...rest, where: [...rest.where, condition] }
}

/** The nulls of a column picked, or no longer. */
export function withNullsToggled(filters, column) {
  const rest = withoutColumn(filters, column)
  if (pickedValues(filters, column).nulls) return rest
  return { ...rest, where: [...rest.where, { column, op: 'is_null' }] }
}

/** A histogram brushed: start <= value < end, in place of the column's conditions (null: cleared). */
export function withRange(filters, column, range) {
  const rest = withoutColumn(filters, column)
  if (!range) return rest
  const [start, end] = range
  return { ...rest, where: [...rest.where, { column, op: '>=', value: start }, { column, op: '<', value: end }] }
}

/** The [low, high) a column's range conditions keep ([-Infinity, Infinity] sides when open), or null. */
export function pickedRange(filters, column) {
  let low = null
  let high = null
  for (const w of filters.where) {
    if (w.column !== column) continue
    if (w.op === '>=' || w.op === '>') low = w.value
    if (w.op === '<' || w.op === '<=') high = w.value
  }
  return low === null && high === null ? null : [low, high]
}
