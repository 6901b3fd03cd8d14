// Behavioural specification of an adder (AdderNet, L1) layer (docs/semantics.md), written from
// the text alone.
//   neuron: y = bias - sum_i |x_i - w_i|, exact (AW-bit signed integers, AW generous)
// Flat buses as in threshold.v (no p).
module spec_adder #(parameter N = 4, W = 4, BW = 8, OUTPUTS = 1, AW = 40) (
  input  [N*W-1:0] x,
  input  [OUTPUTS*N*W-1:0] w,
  input  [OUTPUTS*BW-1:0] bias,
  output reg [OUTPUTS*AW-1:0] y
);
  integer o, i;
  reg signed [AW-1:0] acc, d;
  always @* begin
    y = 0;
    for (o = 0; o < OUTPUTS; o = o + 1) begin
      acc = $signed(bias[o*BW +: BW]);
      for (i = 0; i < N; i = i + 1) begin
        d = $signed(x[i*W +: W]) - $signed(w[(o*N + i)*W +: W]);
        if (d < 0) acc = acc + d;
        else acc = acc - d;
      end
      y[o*AW +: AW] = acc;
    end
  end
endmodule
