//! Where the [`Decoder`](crate::Decoder) appends flows: [`Flow`] rows in a
//! `Vec`, or the columns of a [`FlowBatch`].
//!
//! Why both: floed's store encodes columns, and a flow decoded straight
//! into them is never written as a 136-byte row and read back (the
//! compiled template path and the fixed v5/v7 layout write a column at a
//! time over a set's records); tools that want rows keep them.

use floe_flow::{Flow, FlowBatch};

mod sealed {
    pub trait Sealed {}
    impl Sealed for Vec<floe_flow::Flow> {}
    impl Sealed for floe_flow::FlowBatch {}
}

/// What flows are decoded into: `Vec<Flow>` or [`FlowBatch`]. A batch is
/// given every column it lacks (zeros for its rows so far, as the row
/// reader gives a missing column), since a flow decoded has every field.
pub trait FlowOut: sealed::Sealed {
    /// Number of flows held.
    fn flows_len(&self) -> usize;
    /// Appends one flow.
    fn push_flow(&mut self, f: Flow);
    /// The rows or the columns, for the decoder's fast paths.
    #[doc(hidden)]
    fn target(&mut self) -> Target<'_>;
}

/// The two kinds of [`FlowOut`], as the decoder's fast paths see them.
#[doc(hidden)]
pub enum Target<'a> {
    Rows(&'a mut Vec<Flow>),
    Columns(&'a mut FlowBatch),
}

impl FlowOut for Vec<Flow> {
    fn flows_len(&self) -> usize {
        self.len()
    }
    fn push_flow(&mut self, f: Flow) {
        self.push(f);
    }
    fn target(&mut self) -> Target<'_> {
        Target::Rows(self)
    }
}

impl FlowOut for FlowBatch {
    fn flows_len(&self) -> usize {
        self.len()
    }
    fn push_flow(&mut self, f: Flow) {
        self.hold_every_column();
        self.push_row(&f);
    }
    fn target(&mut self) -> Target<'_> {
        self.hold_every_column();
        Target::Columns(self)
    }
}
