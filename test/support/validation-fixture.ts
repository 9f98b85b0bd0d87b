import { Body, Controller, Module, Post } from '@nestjs/common';
import { IsInt, IsNotEmpty, IsString, Min } from 'class-validator';

class EchoRequest {
  @IsString()
  @IsNotEmpty()
  name!: string;

  @IsInt()
  @Min(1)
  count!: number;
}

/** A POST route with a DTO, to exercise the app-wide validation pipe and content-type handling. */
@Controller('fixtures/echo')
class EchoController {
  @Post()
  echo(@Body() body: EchoRequest) {
    return { ok: true, received: body };
  }
}

@Module({ controllers: [EchoController] })
export class ValidationFixtureModule {}
