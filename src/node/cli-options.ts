/** Command-line options that several commands declare the same way. */
import { Option } from 'commander';

/** `--layout` of the commands that read images for conv specs. */
export function layoutOption(): Option {
  return new Option('--layout <layout>', 'image inputs of a conv spec: nchw ([N, C, H, W] or [N, C, P], the default) or nhwc ([N, H, W, C] or [N, P, C])').choices(['nchw', 'nhwc']);
}
