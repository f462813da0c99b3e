// The permission-model flags of the Node that runs Director. They changed between the LTS lines, so they
// are read from the running binary (process.allowedNodeEnvironmentFlags), never from its version number.

export interface PermissionSupport {
  /** The flag that turns the model on: `--permission` where it is stable (22.13+, 23.5+), else the experimental one. */
  readonly enable: '--permission' | '--experimental-permission';
  /** Node ≥ 25 denies the network under the model unless `--allow-net` is given; older lines never restrict it. */
  readonly restrictsNetwork: boolean;
}

export function permissionSupport(flags: ReadonlySet<string> = process.allowedNodeEnvironmentFlags): PermissionSupport {
  return {
    enable: flags.has('--permission') ? '--permission' : '--experimental-permission',
    restrictsNetwork: flags.has('--allow-net'),
  };
}

/**
 * Node flags that turn the permission model on for an executor, with the network kept (`allow`) or denied
 * (`deny`, only where the running Node can deny it: config checks that before anything starts).
 */
export function permissionFlags(network: 'allow' | 'deny', support: PermissionSupport = permissionSupport()): string[] {
  const flags: string[] = [support.enable];
  // The experimental flag prints a warning on every start; the stable one has none to silence.
  if (support.enable === '--experimental-permission') flags.push('--disable-warning=ExperimentalWarning');
  if (support.restrictsNetwork && network === 'allow') flags.push('--allow-net');
  return flags;
}
