// The studio's scope editor in the side panel: rename a cluster (and its description), move the selection to
// another cluster, merge two clusters, remove the selected rows, undo the last edit. Each edit makes a new scope
// version on the server; the page then opens that version (the URL names it, so every earlier one stays a link).
import * as api from '../api.js'
import { compareUrl } from '../compare.js'
import { h } from '../dom.js'

/** The editor's elements, or null where the server takes no edits (hosted, single_profile). */
export function buildScopeEdit(view) {
  const { app, dataset, scope, clusters, scopeJson } = view.data
  if (!app.scope_edits || !app.write_token) return null
  const options = () => clusters.map((c) => h('option', { value: String(c.cluster) }, `${c.cluster}: ${c.label}`))
  const pick = (label, testid) => h('select', { 'aria-label': label, dataset: { testid } }, ...options())
  const el = {
    cluster: pick('Cluster to edit', 'edit-cluster'),
    label: h('input', { placeholder: 'new label', 'aria-label': 'New label', dataset: { testid: 'edit-label' } }),
    description: h('input', {
      placeholder: 'description',
      'aria-label': 'New description',
      dataset: { testid: 'edit-description' },
    }),
    to: pick('Target cluster', 'edit-to'),
    status: h('p.muted', { role: 'status', dataset: { testid: 'edit-status' } }),
  }
  const send = (path, body) => api.post(path, body, { 'x-ls-token': app.write_token }).then((r) => r.json())
  const base = api.scopeBase(dataset, scope)
  const edit = (body) => send(`${base}/edits`, body)
  const selected = () => {
    const rows = view.ui.matching
    if (!rows?.length) throw new Error('select rows first (click or lasso points)')
    return rows
  }
  const act = (label, testid, fn) =>
    h('button.mini', { dataset: { testid }, on: { click: () => run(view, el, fn) } }, label)
  const renameBody = () => {
    const body = { op: 'rename', cluster: Number(el.cluster.value) }
    if (el.label.value.trim()) body.label = el.label.value.trim()
    if (el.description.value.trim()) body.description = el.description.value.trim()
    return body
  }
  el.root = h(
    'div.scope-edit',
    { dataset: { testid: 'scope-edit' } },
    h('div.row', {}, el.cluster),
    h('div.row', {}, el.label, el.description, act('Rename', 'edit-rename', () => edit(renameBody()))),
    h('div.row', {}, h('span.muted', {}, 'into / to'), el.to),
    h(
      'div.row',
      {},
      act('Merge into', 'edit-merge', () => edit({ op: 'merge', cluster: Number(el.cluster.value), to: Number(el.to.value) })),
      act('Move selection', 'edit-move', () => edit({ op: 'move', rows: selected(), to: Number(el.to.value) })),
    ),
    h(
      'div.row',
      {},
      act('Remove selection', 'edit-remove', () => edit({ op: 'remove', rows: selected() })),
      scopeJson.undo_to ? act('Undo last edit', 'edit-undo', () => send(`${base}/edits/undo`, {})) : null,
    ),
    scopeJson.edited_from
      ? h(
          'p.muted',
          { dataset: { testid: 'edit-version' } },
          `${scope}: ${describe(scopeJson.edit)} `,
          h('a', { href: compareUrl(dataset, scopeJson.edited_from, scope), dataset: { testid: 'edit-compare' } }, `compare with ${scopeJson.edited_from}`),
        )
      : null,
    el.status,
  )
  return el
}

/** Runs one edit, then opens the version it made (the filters but the selection carry over). */
async function run(view, el, fn) {
  el.status.textContent = '…'
  await view.guarded(async () => {
    const done = await fn()
    el.status.textContent = `${describe(done.edit)}: now ${done.scope}`
    view.switchScope(done.scope)
  })
}

function describe(edit) {
  if (!edit) return 'edited'
  const rows = (n) => `${n.toLocaleString('en')} row${n === 1 ? '' : 's'}`
  if (edit.op === 'rename') return `renamed cluster ${edit.cluster}${edit.label ? ` to ${edit.label}` : ''}`
  if (edit.op === 'move') return `moved ${rows(edit.rows.length)} to cluster ${edit.to}`
  if (edit.op === 'merge') return `merged cluster ${edit.cluster} into ${edit.to}`
  if (edit.op === 'remove') return `removed ${rows(edit.rows.length)}`
  if (edit.op === 'restore') return `restored ${rows(edit.rows.length)}`
  if (edit.op === 'undo') return `undid an edit (back to ${edit.restores})`
  return edit.op
}
