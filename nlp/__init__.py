"""Pure text-mining library of the VOC pipeline: text in, labels and tables out."""
