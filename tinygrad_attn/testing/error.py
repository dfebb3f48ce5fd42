"""GradcheckError: what every check raises, with the raw derivatives and where they were found."""

from __future__ import annotations


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with the numeric one; the message says where.

    `argument`: which input of the checked function; `element`: the input element (a tuple);
    `analytic` and `numeric`: the raw derivatives there (d output[`output`] / d input[`element`]);
    `op`, `site`: the first node (in backward order) whose own backward disagrees, when one was
    found; `input_index`: that node's input, or `argument` when no node was found; `order`:
    derivative order; `projected`: (backward, central differences) of the gradient of <v, out> at
    the element, for the check's own cotangent v; `where`: 'x' (the point given) or 'x + h d' (a
    point the differences visit next to it); `tolerance`: the directional check's tolerance.
    """

    def __init__(
        self,
        message,
        *,
        input_index=None,
        element=None,
        analytic=None,
        numeric=None,
        argument=None,
        output=None,
        op=None,
        site=None,
        order=1,
        projected=None,
        where=None,
        tolerance=None,
    ):
        super().__init__(message)
        self.input_index = input_index
        self.element = element
        self.analytic = analytic
        self.numeric = numeric
        self.argument = argument if argument is not None else input_index
        self.output = output
        self.op = op
        self.site = site
        self.order = order
        self.projected = projected
        self.where = where
        self.tolerance = tolerance
