// Points drawn from a window of their arrays: the same layer as points-layer.js, told which contiguous run of its
// points to draw (firstPoint, pointCount). With the points sorted by time, a moving time window is a moving run:
// each playback frame changes two numbers, and no buffer is uploaded again.
import { PointsLayer } from './points-layer.js'

export class WindowPointsLayer extends PointsLayer {
  static layerName = 'WindowPointsLayer'
  static defaultProps = { ...PointsLayer.defaultProps, firstPoint: 0, pointCount: 0 }

  draw() {
    const { model } = this.state
    const first = Math.max(0, Math.min(this.props.firstPoint, this.getNumInstances()))
    const count = Math.max(0, Math.min(this.props.pointCount, this.getNumInstances() - first))
    if (!count) return
    model.setDrawOffsets({ firstVertex: first, firstIndex: 0 })
    model.setVertexCount(count)
    model.shaderInputs.setProps({ points: { radiusPixels: this.props.radiusPixels } })
    model.draw(this.context.renderPass)
  }
}
