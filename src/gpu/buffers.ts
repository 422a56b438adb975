/// <reference types="@webgpu/types" preserve="true" />
/**
 * The buffers of one run, created with labels (`<label>: <name>`) and sizes rounded up to 16 bytes
 * (what uniform and storage bindings need), and destroyed together when the run ends.
 */
export class GpuBuffers {
  private made: GPUBuffer[] = [];
  constructor(
    private readonly device: GPUDevice,
    private readonly label: string,
  ) {}

  buffer(name: string, size: number, usage: number): GPUBuffer {
    const b = this.device.createBuffer({ label: `${this.label}: ${name}`, size: Math.max(16, Math.ceil(size / 16) * 16), usage });
    this.made.push(b);
    return b;
  }

  destroy(): void {
    for (const b of this.made) b.destroy();
    this.made = [];
  }
}
