// Freehand lasso selection over the map.

/** A freehand lasso drawn on an SVG overlay; reports the polygon in screen pixels. */
export class Lasso {
  constructor(container, onDone) {
    this.onDone = onDone
    this.svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg')
    this.svg.classList.add('lasso')
    this.path = document.createElementNS('http://www.w3.org/2000/svg', 'polygon')
    this.svg.appendChild(this.path)
    container.appendChild(this.svg)
    this.points = []
    const local = (e) => {
      const r = this.svg.getBoundingClientRect()
      return [e.clientX - r.left, e.clientY - r.top]
    }
    this.svg.addEventListener('pointerdown', (e) => {
      this.drawing = true
      this.points = [local(e)]
      this.svg.setPointerCapture(e.pointerId)
    })
    this.svg.addEventListener('pointermove', (e) => {
      if (!this.drawing) return
      this.points.push(local(e))
      this.path.setAttribute('points', this.points.map((p) => p.join(',')).join(' '))
    })
    this.svg.addEventListener('pointerup', () => {
      this.drawing = false
      this.path.setAttribute('points', '')
      if (this.points.length > 2) this.onDone(simplify(this.points))
    })
  }

  setActive(on) {
    this.svg.classList.toggle('active', on)
  }

  destroy() {
    this.svg.remove()
  }
}

function simplify(points) {
  // Keep the URL short: at most ~40 vertices.
  const step = Math.max(1, Math.floor(points.length / 40))
  return points.filter((_, i) => i % step === 0)
}
