import { Logger, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { ElevenLabsHttp } from './elevenlabs-http';
import { HttpSpeechToText } from './http-speech-to-text';
import { HttpTextToSpeech } from './http-text-to-speech';
import { SpeechToText } from './speech-to-text';
import { TextToSpeech } from './text-to-speech';

/**
 * ElevenLabs voice services: the injectable {@link SpeechToText} (voice messages in) and
 * {@link TextToSpeech} (voice replies out), sharing one keep-alive connection pool. Without
 * `ELEVENLABS_API_KEY` the module still starts; both ports then say `isConfigured === false`.
 */
@Module({
  providers: [
    { provide: ElevenLabsHttp, inject: [AppConfig], useFactory: ElevenLabsHttp.fromConfig },
    { provide: SpeechToText, inject: [ElevenLabsHttp, AppConfig], useFactory: HttpSpeechToText.fromConfig },
    { provide: TextToSpeech, inject: [ElevenLabsHttp, AppConfig], useFactory: HttpTextToSpeech.fromConfig },
  ],
  exports: [SpeechToText, TextToSpeech],
})
export class ElevenLabsModule implements OnApplicationBootstrap {
  constructor(private readonly http: ElevenLabsHttp) {}

  onApplicationBootstrap(): void {
    if (!this.http.isConfigured) {
      new Logger('ElevenLabs').log(
        'ELEVENLABS_API_KEY is not set: voice messages are not transcribed and replies are sent as text',
      );
    }
  }
}
