// The dataset's exclusion list in the studio's side panel: rows the next run of a recipe leaves out of its fit
// (UMAP, clusters, labels), unlike "Remove selection", which only hides rows in this scope. Each change is a new
// version on the server; the map changes when the recipe runs again.
import * as api from '../api.js'
import { h } from '../dom.js'
import { matchingRows } from './data.js'

/** The section's elements, or null where the server takes no edits. */
export function buildExclusions(view) {
  const { app, dataset } = view.data
  if (!app.scope_edits || !app.write_token) return null
  const base = `/api/datasets/${encodeURIComponent(dataset)}/exclusions`
  const status = h('p.muted', { role: 'status', dataset: { testid: 'exclusions-status' } })
  const show = (state) => {
    const made = state.version ? ` (${state.version})` : ''
    status.textContent = `${state.excluded.toLocaleString('en')} rows excluded${made}; the next run refits without them`
  }
  // body: the JSON, or an async function making it (which may refuse, e.g. with nothing selected)
  const send = (path, body) =>
    view.guarded(async () => {
      const json = typeof body === 'function' ? await body() : body
      show(await (await api.post(path, json, { 'x-ls-token': app.write_token })).json())
    })
  // The rows the filters and the selection keep: a selection's rows are picked, a filter's are what it kept.
  const kept = async () => {
    const found = await matchingRows(view)
    if (!found?.matching?.length) throw new Error('filter or select rows first (click or lasso points)')
    return { rows: found.matching, source: found.selection ? 'rows' : 'filter' }
  }
  const act = (label, testid, fn) => h('button.mini', { dataset: { testid }, on: { click: fn } }, label)
  const root = h(
    'section',
    { dataset: { testid: 'exclusions' } },
    h('h3', {}, 'Exclude from the fit'),
    h(
      'div.row',
      {},
      act('Exclude these rows', 'exclude-selection', () => send(base, kept)),
      act('Exclude the rows removed here', 'exclude-removed', () => send(base, { removed_in: view.data.scope })),
      act('Keep one of each near-duplicate group', 'exclude-duplicates', () => send(base, { duplicates: true })),
      act('Undo', 'exclude-undo', () => send(`${base}/undo`, {})),
    ),
    status,
  )
  api.getJSON(base).then(show, () => {})
  return root
}
