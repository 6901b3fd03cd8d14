// Behavioural specification of a sum-and-max (SAM) layer (docs/semantics.md, formula (5) of
// Prono et al.), written from the text alone.
//   neuron o: y = max over kept i of (x_i + wp[o][i]) + min over kept i of (x_i + wm[o][i])
// No bias. KEEP_MAX / KEEP_MIN: keep masks, bit o*N + i set when output o keeps input i on that
// side (every output keeps at least one input per side). Weights of pruned pairs are ignored.
// Flat buses: x[i] at [i*W +: W], wp[o][i] and wm[o][i] at [(o*N + i)*W +: W], y[o] at
// [o*AW +: AW]; AW-bit signed integers, AW generous.
module spec_sam #(parameter N = 4, W = 4, OUTPUTS = 1, AW = 40,
                  parameter [OUTPUTS*N-1:0] KEEP_MAX = {OUTPUTS*N{1'b1}},
                  parameter [OUTPUTS*N-1:0] KEEP_MIN = {OUTPUTS*N{1'b1}}) (
  input  [N*W-1:0] x,
  input  [OUTPUTS*N*W-1:0] wp,
  input  [OUTPUTS*N*W-1:0] wm,
  output reg [OUTPUTS*AW-1:0] y
);
  integer o, i;
  reg signed [AW-1:0] s, hi, lo;
  reg have_hi, have_lo;
  always @* begin
    y = 0;
    for (o = 0; o < OUTPUTS; o = o + 1) begin
      hi = 0;
      lo = 0;
      have_hi = 0;
      have_lo = 0;
      for (i = 0; i < N; i = i + 1) begin
        if (KEEP_MAX[o*N + i]) begin
          s = $signed(x[i*W +: W]) + $signed(wp[(o*N + i)*W +: W]);
          if (!have_hi || s > hi) hi = s;
          have_hi = 1;
        end
        if (KEEP_MIN[o*N + i]) begin
          s = $signed(x[i*W +: W]) + $signed(wm[(o*N + i)*W +: W]);
          if (!have_lo || s < lo) lo = s;
          have_lo = 1;
        end
      end
      y[o*AW +: AW] = hi + lo;
    end
  end
endmodule
