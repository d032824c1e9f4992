/** A failure of `landform tools` that is reported as one message, without a stack. */
export class ToolsError extends Error {
  override name = "ToolsError";
}
