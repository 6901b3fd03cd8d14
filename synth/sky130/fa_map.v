// Techmap of Yosys $fa cells (from extract_fa / maccmap) onto sky130_fd_sc_hd full and half
// adders: a slice with a constant-0 carry input becomes ha_1, every other slice fa_1 ($fa: X is
// the carry, Y the sum). Used by the sky130 "fa" recipes (tn_hw.synth.sky130.recipes).
(* techmap_celltype = "$fa" *)
module _sky130_fa (A, B, C, X, Y);
  parameter WIDTH = 1;
  parameter _TECHMAP_CONSTMSK_C_ = 0;
  parameter _TECHMAP_CONSTVAL_C_ = 0;
  input [WIDTH-1:0] A, B, C;
  output [WIDTH-1:0] X, Y;
  genvar i;
  generate for (i = 0; i < WIDTH; i = i + 1) begin : slice
    if (_TECHMAP_CONSTMSK_C_[i] && !_TECHMAP_CONSTVAL_C_[i]) begin : half
      sky130_fd_sc_hd__ha_1 ha (.A(A[i]), .B(B[i]), .COUT(X[i]), .SUM(Y[i]));
    end else begin : full
      sky130_fd_sc_hd__fa_1 fa (.A(A[i]), .B(B[i]), .CIN(C[i]), .COUT(X[i]), .SUM(Y[i]));
    end
  end endgenerate
endmodule
