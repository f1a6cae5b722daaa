// The card next to the pointer: the hovered row's cluster (same hue as on the map) and its text.
import { h, clear } from './dom.js'
import { clusterColor } from './theme.js'

export class HoverCard {
  constructor(container) {
    this.container = container
    this.el = h('div.hovercard', { hidden: true })
    container.append(this.el)
  }

  place(x, y) {
    this.el.style.left = `${Math.min(x + 14, this.container.clientWidth - 330)}px`
    this.el.style.top = `${y + 14}px`
  }

  /** text === null while the row is being fetched. */
  show(cluster, lsIndex, text, theme) {
    clear(this.el).append(
      h(
        'div.card-head',
        {},
        h('span.swatch', { style: { background: clusterColor(theme, cluster.cluster, cluster.noise) } }),
        h('span.label', {}, cluster.label),
        h('span.muted', {}, `#${lsIndex}`),
      ),
      h('p.card-text', {}, text === null ? '…' : truncate(String(text ?? ''), 420)),
    )
    this.el.hidden = false
  }

  hide() {
    this.el.hidden = true
  }
}

function truncate(s, n) {
  return s.length > n ? s.slice(0, n - 1) + '…' : s
}
