import { escapeHtml, voiceMimeType } from './telegram-format';

describe('escapeHtml', () => {
  it('escapes &, < and > so text that looks like markup is shown as written', () => {
    expect(escapeHtml('tcpsocket:(closed) <pre>a && b</pre> x > y')).toBe(
      'tcpsocket:(closed) &lt;pre&gt;a &amp;&amp; b&lt;/pre&gt; x &gt; y',
    );
  });

  it('escapes & first, so an existing entity is shown literally rather than kept', () => {
    expect(escapeHtml('&lt;b&gt; &amp;')).toBe('&amp;lt;b&amp;gt; &amp;amp;');
  });

  it('leaves quotes and everything else alone', () => {
    expect(escapeHtml(`"it's" ✅ \n`)).toBe(`"it's" ✅ \n`);
  });
});

describe('voiceMimeType', () => {
  it.each([
    ['reply.ogg', 'audio/ogg'],
    ['reply.OGA', 'audio/ogg'],
    ['/tmp/a.b/reply.wav', 'audio/wav'],
    ['reply.mp3', 'audio/mpeg'],
    ['reply', 'audio/mpeg'],
    ['reply.ogg.txt', 'audio/mpeg'],
  ])('%s → %s', (name, type) => {
    expect(voiceMimeType(name)).toBe(type);
  });
});
