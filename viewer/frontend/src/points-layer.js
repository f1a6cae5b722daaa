// The map's points as one non-instanced draw of GL points: the same round, edge-smoothed dots as deck.gl's
// ScatterplotLayer with radiusUnits 'pixels', at a fraction of its cost under software WebGL.
//
// Why our own layer: ScatterplotLayer draws an instanced quad per point, and SwiftShader (Chromium's WebGL without a
// GPU) runs an instanced draw instance by instance (one full draw each). Measured in a bare WebGL2 page in headless
// Chromium on 2 cores: 1M instanced quads 20-31 s a frame, 1M GL points 1-3 s (README, "The explore page's first
// frame"). Positions and colours stay binary attributes straight from the typed arrays; picking and autoHighlight
// work as in deck.gl's own layers, with the picking colour from the vertex index instead of the instance index.
// The one difference: a GL point is clipped whole once its centre leaves the canvas (a quad is cut at the edge),
// which for dots of at most 12 px shows only as dots at the very edge vanishing a little early while panning.
import { Layer, color, picking, project32 } from '@deck.gl/core'
import { Model } from '@luma.gl/engine'

const uniformBlock = `\
layout(std140) uniform pointsUniforms {
  float radiusPixels;
} points;
`

const pointsUniforms = {
  name: 'points',
  vs: uniformBlock,
  fs: uniformBlock,
  uniformTypes: { radiusPixels: 'f32' },
}

const vs = `\
#version 300 es
#define SHADER_NAME ls-points-vertex-shader

in vec3 pointPositions;
in vec3 pointPositions64Low;
in vec4 pointColors;

out vec4 vColor;
out float edgePadding;

void main(void) {
  geometry.worldPosition = pointPositions;
  geometry.pickingColor = picking_getPickingColorFromIndex(float(gl_VertexID));
  // The square covers the circle plus half a pixel of smoothed edge, as ScatterplotLayer's quad does.
  edgePadding = (points.radiusPixels + SMOOTH_EDGE_RADIUS) / points.radiusPixels;
  gl_PointSize = 2.0 * (points.radiusPixels + SMOOTH_EDGE_RADIUS) * project.devicePixelRatio;
  gl_Position = project_position_to_clipspace(pointPositions, pointPositions64Low, vec3(0.0), geometry.position);
  DECKGL_FILTER_GL_POSITION(gl_Position, geometry);
  vColor = vec4(pointColors.rgb, pointColors.a * layer.opacity);
  DECKGL_FILTER_COLOR(vColor, geometry);
}
`

const fs = `\
#version 300 es
#define SHADER_NAME ls-points-fragment-shader

precision highp float;

in vec4 vColor;
in float edgePadding;

out vec4 fragColor;

void main(void) {
  vec2 unitPosition = (gl_PointCoord * 2.0 - 1.0) * edgePadding;
  geometry.uv = unitPosition;
  float inCircle = smoothedge(length(unitPosition) * points.radiusPixels, points.radiusPixels);
  if (inCircle == 0.0) {
    discard;
  }
  fragColor = vColor;
  fragColor.a *= inCircle;
  DECKGL_FILTER_COLOR(fragColor, geometry);
}
`

export class PointsLayer extends Layer {
  static layerName = 'PointsLayer'
  static defaultProps = {
    getPosition: { type: 'accessor', value: (d) => d.position },
    getFillColor: { type: 'accessor', value: [0, 0, 0, 255] },
    radiusPixels: { type: 'number', min: 0, value: 1 },
  }

  getShaders() {
    return super.getShaders({ vs, fs, modules: [project32, color, picking, pointsUniforms] })
  }

  initializeState() {
    this.getAttributeManager().add({
      pointPositions: { size: 3, type: 'float64', fp64: this.use64bitPositions(), accessor: 'getPosition' },
      pointColors: { size: 4, type: 'unorm8', accessor: 'getFillColor', defaultValue: [0, 0, 0, 255] },
    })
  }

  updateState(params) {
    super.updateState(params)
    if (params.changeFlags.extensionsChanged) {
      this.state.model?.destroy()
      this.state.model = this.getModel()
      this.getAttributeManager().invalidateAll()
    }
  }

  draw() {
    const { model } = this.state
    model.setVertexCount(this.getNumInstances())
    model.shaderInputs.setProps({ points: { radiusPixels: this.props.radiusPixels } })
    model.draw(this.context.renderPass)
  }

  getModel() {
    return new Model(this.context.device, {
      ...this.getShaders(),
      id: this.props.id,
      bufferLayout: this.getAttributeManager().getBufferLayouts(),
      topology: 'point-list',
      isInstanced: false,
    })
  }
}
