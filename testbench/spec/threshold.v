// Behavioural specification of a threshold layer (docs/semantics.md), written from the text
// alone: no generator code. OUTPUTS neurons of N inputs, inputs and thresholds W bits signed,
// bias BW bits signed; every value is held in AW-bit signed integers (AW generous: nothing
// in the spec can overflow), and y is AW bits, so the proof also shows the design's output
// width is wide enough.
//   cell:   r = x - w if x > w else 0;  +r if p == 0 (excitatory), -r if p == 1 (inhibitory)
//   neuron: y = bias + sum_i cell_i
// Flat buses: x[i] at [i*W +: W], w[o][i] at [(o*N + i)*W +: W], p[o][i] at bit o*N + i,
// bias[o] at [o*BW +: BW], y[o] at [o*AW +: AW].
module spec_threshold #(parameter N = 4, W = 4, BW = 8, OUTPUTS = 1, AW = 40) (
  input  [N*W-1:0] x,
  input  [OUTPUTS*N*W-1:0] w,
  input  [OUTPUTS*N-1:0] p,
  input  [OUTPUTS*BW-1:0] bias,
  output reg [OUTPUTS*AW-1:0] y
);
  integer o, i;
  reg signed [AW-1:0] acc, xi, wi, r;
  always @* begin
    y = 0;
    for (o = 0; o < OUTPUTS; o = o + 1) begin
      acc = $signed(bias[o*BW +: BW]);
      for (i = 0; i < N; i = i + 1) begin
        xi = $signed(x[i*W +: W]);
        wi = $signed(w[(o*N + i)*W +: W]);
        if (xi > wi) r = xi - wi;
        else r = 0;
        if (p[o*N + i]) acc = acc - r;
        else acc = acc + r;
      end
      y[o*AW +: AW] = acc;
    end
  end
endmodule
