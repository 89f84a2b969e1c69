import { checkReceiverUrl, isPrivateAddress, ReceiverUrlError } from '../../src/events/receiver-url';

const publicDns = async () => ['93.184.216.34'];

describe('receiver URL check', () => {
  it('takes a public https URL', async () => {
    expect((await checkReceiverUrl('https://app.example.com/events', false, publicDns)).host).toBe('app.example.com');
  });

  it.each(['http://app.example.com/x', 'ftp://app.example.com/x', 'not a url', 'https://user:pw@app.example.com/'])('refuses %s', async (url) => {
    await expect(checkReceiverUrl(url, false, publicDns)).rejects.toBeInstanceOf(ReceiverUrlError);
  });

  it.each([
    'https://10.0.0.1/x',
    'https://127.0.0.1/x',
    'https://localhost/x',
    'https://169.254.169.254/latest',
    'https://[::1]/x',
    'https://[fd00::1]/x',
    'https://192.168.1.2/',
  ])('refuses the private address in %s unless allowed', async (url) => {
    await expect(checkReceiverUrl(url, false, publicDns)).rejects.toThrow(/ROSTER_RECEIVERS_ALLOW_PRIVATE/);
    await expect(checkReceiverUrl(url, true, publicDns)).resolves.toBeInstanceOf(URL);
  });

  it('refuses a name that resolves to a private address', async () => {
    await expect(checkReceiverUrl('https://inside.example.com/', false, async () => ['93.184.216.34', '10.1.2.3'])).rejects.toThrow(/resolves to 10\.1\.2\.3/);
  });

  it('allows http only with the flag, never ftp', async () => {
    await expect(checkReceiverUrl('http://10.0.0.1/x', true, publicDns)).resolves.toBeInstanceOf(URL);
    await expect(checkReceiverUrl('ftp://10.0.0.1/x', true, publicDns)).rejects.toThrow(/https or http/);
  });

  it('classifies addresses', () => {
    expect(['172.16.0.1', '172.31.255.255', '100.64.0.1', '0.0.0.0', '::ffff:10.0.0.1', 'fe80::1'].every(isPrivateAddress)).toBe(true);
    expect(['172.32.0.1', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8'].some(isPrivateAddress)).toBe(false);
  });
});
