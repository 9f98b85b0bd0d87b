import { failureText, forwardErrorText, transcriptionErrorText } from './texts';

describe('texts', () => {
  it('cuts a transcription error to 4000 characters', () => {
    expect(transcriptionErrorText('You have exceeded the concurrent request limit for this request.')).toBe(
      '❌ Error transcribing audio: You have exceeded the concurrent request limit for this request. Please try again or send a text message.',
    );
    expect(transcriptionErrorText('quota exceeded')).toBe(
      '❌ Error transcribing audio: quota exceeded. Please try again or send a text message.',
    );
    const long = transcriptionErrorText('x'.repeat(4001));
    expect(long).toBe(`❌ Error transcribing audio: ${'x'.repeat(4000)}.... Please try again or send a text message.`);
    expect(transcriptionErrorText('y'.repeat(4000))).toContain(`${'y'.repeat(4000)}. Please`);
  });

  it('words forward and processing failures as users know them', () => {
    expect(forwardErrorText('HTTP 500: Internal Server Error')).toBe(
      '❌ Error: Failed to execute cursor command. HTTP 500: Internal Server Error',
    );
    expect(failureText('message', 'boom')).toBe('Sorry, I encountered an error processing your message: boom');
    expect(failureText('edited_message', 'boom')).toBe('Sorry, I encountered an error processing your message: boom');
    expect(failureText('callback_query', 'boom')).toBe('Sorry, I encountered an error processing your callback: boom');
  });
});
