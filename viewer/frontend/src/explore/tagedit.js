// The studio's tag editor in the side panel: create, rename, delete a tag, add or remove the current selection
// (clicked or lassoed points) or, without one, every row the filters match; undo the last edit.
import { TagEditor } from '../api-tags.js'
import * as api from '../api.js'
import { h, clear } from '../dom.js'

/** The editor's elements, or null where the server takes no tag edits (hosted, single_profile). */
export function buildTagEdit(view) {
  const { app, dataset, scope } = view.data
  if (!app.tag_edits || !app.write_token) return null
  const editor = new TagEditor(app, dataset, scope)
  const el = {
    target: h('select', { 'aria-label': 'Tag to edit', dataset: { testid: 'tag-target' } }),
    name: h('input', { placeholder: 'tag name', 'aria-label': 'Tag name', dataset: { testid: 'tag-name' } }),
    status: h('p.muted', { role: 'status', dataset: { testid: 'tag-status' } }),
  }
  const act = (label, testid, fn) => h('button.mini', { dataset: { testid }, on: { click: () => run(view, el, fn) } }, label)
  const target = () => el.target.value
  const typed = () => el.name.value.trim()
  el.root = h(
    'div.tag-edit',
    { dataset: { testid: 'tag-edit' } },
    h('div.row', {}, el.target, act('Add to tag', 'tag-add', () => editRows(view, editor, target(), 'add'))),
    h('div.row', {}, act('Remove from tag', 'tag-remove', () => editRows(view, editor, target(), 'remove'))),
    h('div.row', {}, el.name, act('Create', 'tag-create', () => editor.create(typed()))),
    h(
      'div.row',
      {},
      act('Rename to name', 'tag-rename', () => editor.rename(target(), typed())),
      act('Delete', 'tag-delete', () => editor.remove(target())),
      act('Undo', 'tag-undo', () => editor.undo()),
    ),
    el.status,
  )
  el.editor = editor
  return el
}

/** The tags the editor offers, keeping the one picked when it still exists. */
export function renderTagTargets(el, tags) {
  if (!el) return
  const keep = el.target.value
  clear(el.target).append(...tags.map((t) => h('option', { value: t.tag, selected: t.tag === keep }, t.tag)))
}

function editRows(view, editor, tag, action) {
  const selection = view.ui.matching // the explicit selection after the filters, or null: the filters alone
  return editor.rows(tag, action, api.filterBody(view.state.filters, selection))
}

/** Runs one edit, says what it did in el.status, then reloads the tags (a renamed or deleted tag leaves the filter). */
export async function run(view, el, fn) {
  el.status.textContent = '…' // a new edit under way: the last one's line goes
  await view.guarded(async () => {
    const done = await fn()
    el.status.textContent = describe(done)
    const tags = await el.editor.tags()
    const names = new Set(tags.map((t) => t.tag))
    view.data.tags = tags
    el.target.value = done.to && names.has(done.to) ? done.to : el.target.value
    const kept = view.state.filters.tags.filter((t) => names.has(t))
    if (kept.length !== view.state.filters.tags.length) view.setFilters({ ...view.state.filters, tags: kept })
    else view.refresh()
  })
}

function describe(edit) {
  const n = (xs) => `${xs.length.toLocaleString('en')} row${xs.length === 1 ? '' : 's'}`
  if (edit.op === 'change' && edit.added.length) return `Added ${n(edit.added)} to ${edit.tag}`
  if (edit.op === 'change') return `Removed ${n(edit.removed)} from ${edit.tag}`
  if (edit.op === 'rename') return `Renamed ${edit.tag} to ${edit.to}`
  if (edit.op === 'undo') return `Undid the ${edit.what} of ${edit.tag}`
  return `${edit.op === 'create' ? 'Created' : 'Deleted'} ${edit.tag}`
}
