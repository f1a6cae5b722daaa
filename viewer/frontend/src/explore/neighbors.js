// More like this: a clicked point's (or table row's) nearest neighbours by the scope's own vectors (the neighbors
// route), listed with their cosine scores beside the map and ringed on it; one click keeps them as the selection, and
// in the studio adds them to a tag.
import * as api from '../api.js'
import { h, clear } from '../dom.js'
import { clusterColor, currentTheme } from '../theme.js'
import { run as runTagEdit } from './tagedit.js'

export const NEIGHBORS_K = 20

/** The neighbours of state.near (kept while it stays the same); false when a newer request was sent meanwhile. */
export async function loadNeighbors(view) {
  const token = ++view.tokens.neighbors
  const near = view.state.near
  if (near === null) {
    view.ui.neighbors = null
  } else if (view.ui.neighbors?.ls_index !== near) {
    const params = new URLSearchParams({ ls_index: String(near), k: String(NEIGHBORS_K) })
    const answer = await api.getJSON(`${api.scopeBase(view.data.dataset, view.data.scope)}/neighbors?${params}`)
    if (token !== view.tokens.neighbors) return false
    view.ui.neighbors = answer
  }
  return true
}

export function renderNeighbors(view) {
  const { el, ui, data } = view
  const answer = ui.neighbors
  clear(el.neighbors)
  el.neighbors.hidden = !answer
  if (!answer) return
  const theme = currentTheme()
  const others = answer.results.filter((r) => r.ls_index !== answer.ls_index)
  const indices = answer.results.map((r) => r.ls_index)
  // One status line for the page's life: a tag edit reloads the page's data, which draws this panel again.
  view.el.neighborsStatus ??= h('p.muted', { role: 'status', dataset: { testid: 'neighbors-status' } })
  const status = view.el.neighborsStatus
  const closing = { 'aria-label': 'Close the neighbours', on: { click: () => view.setNear(null) } }
  const close = h('button.mini', closing, '×')
  el.neighbors.append(
    h('h3', {}, `Nearest to #${answer.ls_index}`, close),
    h(
      'div.row.neighbor-actions',
      {},
      h(
        'button.mini',
        {
          dataset: { testid: 'neighbors-filter' },
          title: 'Keep this row and its neighbours as the selection',
          on: { click: () => view.setFilters({ ...view.state.filters, sel: indices, lasso: null }) },
        },
        'Filter to these',
      ),
      tagControls(view, indices, status),
    ),
    h(
      'ol.results',
      { dataset: { testid: 'neighbors' } },
      others.map((r) =>
        h(
          'li.result',
          {
            dataset: { lsIndex: String(r.ls_index), testid: 'neighbor' },
            on: {
              click: () => view.map.flyTo(r.x, r.y),
              mouseenter: () => view.setPinned(r),
              mouseleave: () => view.setPinned(null),
            },
          },
          swatch(theme, data, r.cluster),
          h('span.score', { title: 'cosine similarity' }, r.score.toFixed(3)),
          h('span.snippet', {}, String(r[data.textColumn] ?? '')),
        ),
      ),
    ),
    status,
  )
}

function swatch(theme, data, cluster) {
  const noise = data.clustersById.get(cluster)?.noise
  return h('span.swatch', { style: { background: clusterColor(theme, cluster, noise) } })
}

/** Studio only: a tag and a button that adds the neighbours to it. */
function tagControls(view, indices, status) {
  const edit = view.el.tagEdit
  if (!edit || !view.data.tags.length) return null
  const target = h(
    'select',
    { 'aria-label': 'Tag for the neighbours', dataset: { testid: 'neighbors-tag' } },
    view.data.tags.map((t) => h('option', { value: t.tag }, t.tag)),
  )
  const rows = () => edit.editor.rows(target.value, 'add', { ls_index: indices })
  const add = () => runTagEdit(view, { ...edit, status }, rows)
  return [target, h('button.mini', { dataset: { testid: 'neighbors-tag-add' }, on: { click: add } }, 'Tag these')]
}
